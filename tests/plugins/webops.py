"""Helpers for the tests of how the web console is run (dialer-web, its package and unit).

    console_login(base, user, password, context=None) -> (opener, /login's Set-Cookie, token)
        logs in through the login form as a browser does; asserts it lands on /campaigns.
"""
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar


def console_login(base, user, password, context=None):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(f"{base}/login", timeout=30) as resp:
        page = resp.read().decode()
        cookie = resp.headers["Set-Cookie"]
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = urllib.parse.urlencode({"csrf_token": token, "username": user, "password": password}).encode()
    # As a browser does: over HTTPS, Flask-WTF also wants a Referer of the same site.
    request = urllib.request.Request(f"{base}/login", data=form, headers={"Referer": f"{base}/login"})
    with opener.open(request, timeout=30) as resp:
        assert resp.status == 200 and urllib.parse.urlparse(resp.url).path == "/campaigns", resp.url
        assert user in resp.read().decode()
    return opener, cookie, token
