"""The web pages: Vietnamese, server-rendered from the read models (Jinja2 templates, our own
stylesheet, charts drawn as SVG on the server), signed in by token into a session cookie.
``pages.py`` holds the routes; ``session.py`` the sign-in and CSRF; ``security.py`` the
headers every page carries; ``charts.py`` the SVG; ``templates.py`` the template engine and
its filters."""
