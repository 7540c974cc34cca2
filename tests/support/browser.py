"""Chromium for the browser tests (``tests/server/web/test_web_*.py``): a real ``phasegate serve``, people who
sign in with a password, and a page per person that is watched for what must never happen.

The browser is Debian's Chromium (``/usr/bin/chromium``, or ``$PHASEGATE_CHROMIUM``) driven by
Playwright's sync API; Playwright's own browser download does not work on these machines. Where
Chromium or Playwright is missing the tests skip with the reason, and fail instead in CI
(``CI=true``), so a CI run cannot go green without them.

Every page a test opens is watched: a JavaScript dialog (what an injected ``alert(1)`` would open),
a script error, a Content-Security-Policy violation in the console, or an HTML answer without the
security headers is recorded, and the test fails at its end naming them.

Screenshots go to ``$PHASEGATE_SCREENSHOTS`` when set, else to ``screenshots/`` in pytest's
temporary folder for the run; the run's summary prints the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from support.servers import Server, live_server
from workflow import Engine

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Response, Route

CHROMIUM = Path(os.environ.get("PHASEGATE_CHROMIUM", "/usr/bin/chromium"))
# --no-sandbox: the tests run as root, where Chromium's sandbox cannot start. The rest keep a
# headless test browser from reaching out to Google's services on its own.
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS_ENV = "PHASEGATE_SCREENSHOTS"
# Every page (and every htmx answer) must carry these; see workflow/server/app.py.
REQUIRED_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")
# Until htmx has answered and settled, a page is in between two states.
IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"

shots_taken: list[Path] = []  # read by the run's summary (tests/conftest.py)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a CI run must never go green without the browser tests."""
    if _in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module (each test gets its own contexts).

    Not one per session: while Playwright's sync API runs, its event loop counts as running in
    the main thread, and any later test calling ``asyncio.run`` would fail.
    """
    if not CHROMIUM.exists():
        unavailable(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the browser tests need the playwright package (pip install '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Site:
    """A live server on a fresh SQLite database, and the pages that people opened on it."""

    server: Server
    db_url: str
    browser: Browser
    shots: Path
    problems: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)
    signed_in: dict[str | None, Page] = field(default_factory=dict)  # pages kept for a module's tests

    @property
    def url(self) -> str:
        return self.server.url

    def engine(self) -> Engine:
        return Engine(self.db_url)

    def open(self, login: str | None = None, *, javascript: bool = True, viewport: dict[str, int] = DESKTOP,
             password: str = PASSWORD, **options: Any) -> Page:
        """A new browser context (its own cookies) with one page, signed in as ``login`` when given."""
        options.setdefault("base_url", self.url)
        context = self.browser.new_context(java_script_enabled=javascript, viewport=viewport,
                                           accept_downloads=True, **options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page)
        if login is not None:
            sign_in(page, login, password)
        return page

    def watch(self, page: Page) -> None:
        name = f"page {len(self.contexts)}"

        def dialog(d: Any) -> None:
            self.problems.append(f"{name}: a {d.type} dialog opened: {d.message!r}")
            d.dismiss()

        def console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                self.problems.append(f"{name}: {message.text}")

        def answered(response: Response) -> None:
            if not response.url.startswith(self.url) or response.status in (204, 303):
                return
            headers = response.headers
            if "text/html" in headers.get("content-type", ""):
                missing = [h for h in REQUIRED_HEADERS if h not in headers]
                if missing:
                    self.problems.append(f"{name}: {response.url} came without {', '.join(missing)}")

        page.on("dialog", dialog)
        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(f"{name}: script error: {error}"))
        page.on("response", answered)

    def shoot(self, page: Page, name: str) -> Path:
        """A full-page screenshot (the caret is left alone: hiding it injects a style the CSP refuses)."""
        path = self.shots / f"{name}.png"
        settle(page)
        page.screenshot(path=str(path), full_page=True, caret="initial", animations="disabled")
        shots_taken.append(path)
        return path


def project_url(code: str) -> str:
    return f"/projects/{quote(code, safe='')}"


def sign_in(page: Page, login: str, password: str = PASSWORD) -> None:
    """The sign-in page, as a person uses it: login name, password, Sign in; lands on My work."""
    from playwright.sync_api import expect

    page.goto("/signin")
    page.get_by_label("Login name").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()


def press(button: Locator) -> Response | None:
    """Press a form's button and wait for what it leads to: htmx's swap of the answer, or (JavaScript
    off) the next page, loaded. Returns the form's answer (a 303 on success, the refusal's page)."""
    page = button.page
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        button.click()
    settle(page)
    return answer.value


def settle(page: Page) -> None:
    """Wait until the page has loaded and htmx (when it runs) has swapped and settled."""
    page.wait_for_load_state()
    with contextlib.suppress(Exception):  # JavaScript off: there is no htmx to wait for
        page.wait_for_function(IDLE, timeout=10_000)


def people_with_passwords(engine: Engine, grants: dict[str, tuple[str, ...]], admin: str = "root") -> None:
    """Accounts (with the one test password) and grants for ``grants``' people and the admin."""
    engine.init(admin=admin)
    for person, privileges in {admin: ("admin",), **grants}.items():
        engine.add_user(person, actor=admin, name=person.title())
        engine.set_password(person, PASSWORD, actor=admin)
        for privilege in privileges:
            if person not in engine.grants()[privilege]:
                engine.grant(person, privilege, actor=admin)


def screenshots_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get(SHOTS_ENV, "").strip()
    folder = Path(configured) if configured else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


PEOPLE = {"ana": (), "ben": (), "cy": (), "dee": ("auditor",)}


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the people of :data:`PEOPLE`, made once: each password costs an argon2
    hash (~0.4 s), so every test starts from a copy instead."""
    path = tmp_path_factory.mktemp("seeded") / "web.db"
    with Engine(f"sqlite:///{path}") as engine:
        people_with_passwords(engine, PEOPLE)
    return path


@contextlib.contextmanager
def running_site(browser: Browser, seeded: Path, folder: Path, shots: Path) -> Iterator[Site]:
    """A server on a copy of the seeded database in ``folder``; fails at the end on any problem seen."""
    shutil.copyfile(seeded, folder / "web.db")
    db_url = f"sqlite:///{folder}/web.db"
    with live_server(db_url, folder / "server.log") as server:
        site = Site(server, db_url, browser, shots)
        try:
            yield site
        finally:
            for context in site.contexts:
                context.close()
    assert not site.problems, "\n".join(site.problems)


@pytest.fixture
def site(browser: Browser, seeded: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    """A server on a new SQLite database with root (admin), ana, ben, cy and dee (auditor), each with
    the test password; the test fails at its end if any page it opened saw a dialog, a script error,
    a CSP violation or an answer without the security headers."""
    with running_site(browser, seeded, tmp_path, screenshots_folder(tmp_path_factory)) as site:
        yield site


def axe_script() -> Path | None:
    """axe-core's browser build, installed by ``npm ci --prefix tests/axe``; None when missing."""
    path = Path(__file__).parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
    return path if path.exists() else None


# axe-core's run inside a page: its serious and critical findings (tests/server/web/test_web_*.py).
AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def with_axe(route: Route) -> None:
    """Serves axe-core from the page's own origin (the CSP admits only same-origin scripts)."""
    script = axe_script()
    assert script is not None
    route.fulfill(path=str(script), content_type="text/javascript")
