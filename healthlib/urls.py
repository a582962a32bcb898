from django.urls import path

from healthlib import views

app_name = "healthlib"

urlpatterns = [
    path("articles/<slug:slug>/", views.ArticleDetailView.as_view(), name="article_detail"),
    path("glossary/<slug:slug>/", views.TermDetailView.as_view(), name="term_detail"),
]
