"""The readers' side: published content only. Anything not live is a 404."""

from django.views.generic import DetailView

from healthlib.models import Article, GlossaryTerm


class ArticleDetailView(DetailView):
    context_object_name = "article"
    template_name = "healthlib/article_detail.html"

    def get_queryset(self):
        return Article.objects.filter(live_revision__isnull=False).prefetch_related("topics")

    def get_template_names(self) -> list[str]:
        return [f"healthlib/article_detail_{self.object.article_type}.html", self.template_name]


class TermDetailView(DetailView):
    context_object_name = "term"
    template_name = "healthlib/term_detail.html"

    def get_queryset(self):
        return GlossaryTerm.objects.filter(live_revision__isnull=False)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["related_terms"] = GlossaryTerm.objects.filter(
            live_revision__isnull=False, slug__in=self.object.live_related_slugs
        ).only("slug", "live_term")
        return context
