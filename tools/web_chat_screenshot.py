"""Take docs/web_chat.png: the web chat on the embedded model, answering in a real browser.

Serves examples/web_chat.py (the shipped bridge table, the default route policy) on a free port
of 127.0.0.1, sends Swahili and Indonesian messages from headless Chromium (Selenium; Debian's
chromium and chromium-driver, see tools/ensure_chromium.sh), waits for each streamed reply and
saves the page. The replies are whatever Gemma-3-270m writes: nothing is staged.
Run: HF_HUB_OFFLINE=1 .venv/bin/python tools/web_chat_screenshot.py [OUT.png]
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bridgex_chain.chain import BridgeXChain

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = ("Habari za asubuhi! Kesho kutakuwa na mvua Mombasa?", "Apa kabar, teman-teman semua?")


def _web_chat() -> object:
    spec = importlib.util.spec_from_file_location("web_chat", ROOT / "examples" / "web_chat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(out: Path = ROOT / "docs" / "web_chat.png") -> int:
    chrome, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chrome is None or driver_path is None:
        print("no chromium/chromedriver: run `bash tools/ensure_chromium.sh`", file=sys.stderr)
        return 2
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = _web_chat().create_app(BridgeXChain(max_new_tokens=40))  # type: ignore[attr-defined]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=900,640")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        for done, message in enumerate(MESSAGES, start=1):
            box = driver.find_element(By.ID, "m")
            box.send_keys(message)
            box.submit()
            started = time.monotonic()
            WebDriverWait(driver, 300).until(  # the reply has ended: the input is free again
                lambda d, n=done: (
                    len(d.find_elements(By.CSS_SELECTOR, ".turn")) == n
                    and "routing" not in d.find_elements(By.CSS_SELECTOR, ".route")[-1].text
                )
            )
            time.sleep(1.0)
            while _growing(driver):
                time.sleep(0.5)
            print(f"reply {done} in {time.monotonic() - started:.1f} s")
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        print(f"wrote {out}")
    finally:
        driver.quit()
        server.should_exit = True
    return 0


def _growing(driver: webdriver.Chrome) -> bool:
    """Whether the last reply is still being written (its text changes within a second)."""
    before = driver.find_elements(By.CSS_SELECTOR, ".bot")[-1].text
    time.sleep(1.0)
    return bool(driver.find_elements(By.CSS_SELECTOR, ".bot")[-1].text != before)


if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:2])))
