"""examples/web_chat.py in a real headless browser: type Swahili, see the streamed reply and route.

The page is served by uvicorn on a free port of 127.0.0.1 and driven by Selenium through
Debian's ``chromium`` and ``chromium-driver`` (``tools/ensure_chromium.sh`` installs them where
it may; otherwise the test skips and says why). The model is a fake chat model that streams its
answer word by word, so the test sees streaming, not the embedded model's speed.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from bridgex_chain.chain import BridgeXChain

pytestmark = pytest.mark.slow

GEMMA = "google/gemma-3-270m"
ANSWER = "Habari njema! Kesho Mombasa kutakuwa na jua."
MESSAGE = "Ninataka kujua hali ya hewa ya kesho Mombasa, tafadhali."
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _binary(names: tuple[str, ...]) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(
    make_bridge_db: Callable[..., str], load_example: Callable[[str], ModuleType]
) -> Iterator[str]:
    """The web chat on a free port (a Swahili entry bridging to French); yields its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    db = make_bridge_db(
        GEMMA,
        {("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41}},
        profile=("r", "gemma3_text", 18, 2048),
        probe_set_hash="h",
    )
    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(ANSWER)]))
    chain = BridgeXChain(llm=model, model=GEMMA, database_url=db, route_policy="table")
    port = _free_port()
    config = uvicorn.Config(
        load_example("web_chat").create_app(chain), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium under Selenium (skips, saying why, where there is none)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    chrome = _binary(BROWSERS)
    driver_path = _binary(("chromedriver",))
    if chrome is None or driver_path is None:
        pytest.skip("no chromium and chromedriver: run `bash tools/ensure_chromium.sh` (Debian)")
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=900,600")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def test_a_swahili_message_gets_a_streamed_reply_with_its_route_shown(
    served: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(served)
    browser.execute_script(  # count the updates of the reply: a streamed one arrives in pieces
        "window.updates = 0; new MutationObserver((records) => records.forEach((r) => {"
        "  if (r.target.parentElement && r.target.parentElement.classList.contains('bot'))"
        "    window.updates++; })).observe("
        "document.getElementById('log'), {childList: true, subtree: true});"
    )
    box = browser.find_element(By.ID, "m")
    box.send_keys(MESSAGE)
    box.submit()
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: ANSWER in d.find_element(By.CSS_SELECTOR, ".turn .bot").text)
    turn = browser.find_element(By.CSS_SELECTOR, ".turn")
    lines = [p.text for p in turn.find_elements(By.TAG_NAME, "p")]
    # (the label's space is a CSS margin, so the text has none)
    assert (lines[0], lines[1]) == (f"you:{MESSAGE}", f"bot:{ANSWER}")
    assert lines[2].startswith("route: Swahili (swh_Latn, p=")
    assert "→ bridge French (fra_Latn), score 0.410, run 1" in lines[2]
    assert browser.find_elements(By.CSS_SELECTOR, ".error") == []
    words = len(ANSWER.split())
    assert browser.execute_script("return window.updates") >= words  # one per streamed piece
    shot = tmp_path / "web_chat.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000


def test_an_empty_or_refused_message_shows_an_error_not_a_blank_reply(
    served: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(served)
    browser.execute_script(  # a lone surrogate: not Unicode text, the server answers 422
        "document.getElementById('m').value = 'habari \\ud800';"
        "document.getElementById('f').requestSubmit();"
    )
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".turn .error"))
    error = browser.find_element(By.CSS_SELECTOR, ".turn .error").text
    assert error.startswith("bot:error: message: holds a lone surrogate (U+D800")
