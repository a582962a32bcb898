#
# Varnish in front of a healthlib site, purged by cache tag (vmod_xkey).
#
# For Varnish 7.1 with varnish-modules (Debian bookworm: apt-get install varnish varnish-modules).
# healthlib settings that go with it (docs/deploy.md):
#
#     HEALTHLIB = {
#         "CACHE_TAG_HEADER": "xkey",
#         "EDGE_MAX_AGE": 86400,
#         "PURGE_BACKENDS": {"varnish": {"BACKEND": "varnish", "URLS": ["http://127.0.0.1:6081"]}},
#     }
#
# What it does:
# - anonymous readers' GET/HEAD requests are looked up in the cache; any request with a session or
#   CSRF cookie (Django's default names: sessionid, csrftoken, and messages for the cookie message
#   storage) or an Authorization header goes to the app servers and is never stored;
# - a response is stored only when it sets no cookie and is not marked private, no-store or no-cache
#   (healthlib marks signed-in users' pages, previews and review links so); the edge lifetime is
#   Surrogate-Control's max-age (healthlib's EDGE_MAX_AGE), else Varnish's usual s-maxage/max-age;
# - `PURGE /` with `xkey-purge: tag1 tag2` (or `xkey-softpurge`) drops every object carrying one of
#   the tags, and `BAN /` with `X-Healthlib-Ban: tag1|tag2` bans them (healthlib's "varnish"
#   backend, MODE "xkey" or "ban"); both only from the `purgers` ACL;
# - every response says `X-Cache: HIT` (served from the cache) or `X-Cache: MISS` (fetched from an
#   app server, including requests that are never cached), for debugging and for the tests.
#
# tests/test_varnish.py runs this file as it is, with only the part between the two "backends" marker
# lines replaced by the test's app servers.

vcl 4.1;

import directors;
import std;
import xkey;

# ---- backends: your app servers (tests/test_varnish.py replaces everything up to the end marker) ----
backend app1 { .host = "127.0.0.1"; .port = "8000"; }
# backend app2 { .host = "10.0.0.6"; .port = "8000"; }

sub vcl_init {
    new app = directors.round_robin();
    app.add_backend(app1);
    # app.add_backend(app2);
}
# ---- end of backends ----

# Who may purge: the app servers and the task workers that send healthlib's purges. Add their
# addresses (e.g. "10.0.0.0"/8); everyone else is answered 403.
acl purgers {
    "localhost";
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    set req.backend_hint = app.backend();

    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-softpurge) {
            # Soft: objects stay in grace, so the next reader may still get the old page once while
            # the new one is fetched. healthlib's default (hard) purge never serves it again.
            set req.http.n-gone = xkey.softpurge(req.http.xkey-softpurge);
        } elsif (req.http.xkey-purge) {
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        } else {
            return (synth(400, "No xkey-purge header"));
        }
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.X-Healthlib-Ban) {
            return (synth(400, "No X-Healthlib-Ban header"));
        }
        # Tags are letters, digits and "-"; the header holds them separated by "|".
        if (req.http.X-Healthlib-Ban !~ "^[A-Za-z0-9_|-]+$") {
            return (synth(400, "Invalid tags"));
        }
        ban("obj.http.xkey ~ (^|\s)(" + req.http.X-Healthlib-Ban + ")(\s|$)");
        return (synth(200, "Banned"));
    }

    # Only reads are cached; everything else (form posts, the admin's writes) goes straight through.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Signed-in users, editors' previews, anyone with a CSRF token (a form they are filling in):
    # never from the cache, never into it. Change the names if the site sets SESSION_COOKIE_NAME,
    # CSRF_COOKIE_NAME or uses another auth scheme.
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)(sessionid|csrftoken|messages)=") {
        return (pass);
    }
    # Any other cookie (analytics, consent banners) does not change what a reader sees: without
    # this, Varnish's built-in rules would pass every request carrying one.
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    # The edge lifetime healthlib sends (EDGE_MAX_AGE): longer than the browser's max-age, since a
    # change purges the page here. Without Surrogate-Control, Varnish has already taken s-maxage
    # (or max-age) from Cache-Control, else its default_ttl (120 s: 404s, which carry no tag, are
    # kept that long, so a page published later at that address may be missed for 2 minutes).
    if (beresp.http.Surrogate-Control ~ "(?i)max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, "(?i)^.*max-age=([0-9]+).*$", "\1") + "s", 0s);
    }
    # Personal or uncacheable answers are never stored (as Varnish's built-in rules, which this
    # subroutine replaces, except that Cache-Control is obeyed even next to Surrogate-Control). For a
    # while (ttl) Varnish remembers that this object is not cacheable ("hit-for-miss") and sends
    # readers straight to the app.
    if (beresp.ttl <= 0s
        || beresp.http.Set-Cookie
        || beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)"
        || beresp.http.Surrogate-Control ~ "(?i)no-store"
        || beresp.http.Vary == "*") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # Tags and the edge lifetime are for this cache, not for browsers.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Control;
    # Also meant for the edge (RFC 9213). Keep it only if a CDN in front of Varnish is purged too.
    unset resp.http.CDN-Cache-Control;
    # The browser's max-age counts from when it gets the page, not from when the edge stored it
    # (the edge keeps pages far longer than browsers, relying on purges).
    unset resp.http.Age;
}
