from django.contrib.sitemaps.views import sitemap
from django.urls import path

from healthlib import feeds, review_trail, sitemaps, views
from healthlib.cache import positive_int, reader_page
from healthlib.preview_links import shared_preview

app_name = "healthlib"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/", views.article_index, name="article_index"),
    path("articles/<slug:slug>/", views.article_detail, name="article_detail"),
    path("topics/<slug:slug>/", views.topic_detail, name="topic_detail"),
    path("types/<slug:article_type>/", views.article_type_detail, name="article_type_detail"),
    path("glossary/", views.glossary, name="glossary"),
    path("glossary/<slug:slug>/", views.term_detail, name="term_detail"),
    path("search/", views.search, name="search"),
    path("feeds/rss/", reader_page(feeds.LatestArticlesFeed()), name="feed_rss"),
    path("feeds/atom/", reader_page(feeds.LatestArticlesAtomFeed()), name="feed_atom"),
    path(
        "sitemap.xml", reader_page(sitemap, query={"p": positive_int}), {"sitemaps": sitemaps.SITEMAPS}, name="sitemap"
    ),
    path("preview/revision/<int:pk>/", views.preview_revision, name="preview_revision"),
    path("preview/shared/<str:token>/", shared_preview, name="shared_preview"),
]

# Reader error reports: pages of their own, never cached (they carry a CSRF token).
urlpatterns += [
    path("articles/<slug:slug>/report/", views.report_problem, name="report_problem"),
    path("articles/<slug:slug>/report/sent/", views.report_sent, name="report_sent"),
]

# The public review trail of an article and the canonical bytes of its live text (healthlib.review_trail).
urlpatterns += [
    path("articles/<slug:slug>/reviews/", review_trail.article_reviews, name="article_reviews"),
    path("articles/<slug:slug>/reviews/live.json", review_trail.article_live_json, name="article_live_json"),
]
