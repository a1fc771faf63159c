"""The course as a learner meets it: a real Chromium drives a real JupyterLab.

One JupyterLab server starts on loopback (a random free port, a random token) over a throwaway
COPY of ``lessons/`` (nothing is written into the repository but the screenshots). Chromium,
driven by Playwright, then does what a learner does:

* lesson 01: Run -> Run All Cells, wait for every code cell to finish without a traceback, move
  the cost calculator's "log10 N" slider with the mouse, and check that the cost the calculator
  shows changes to the value 6·N·D pricing gives for the slider's new position;
* lesson 03: run the notebook up to its sign-off panel (Run All Above Selected Cell), check that
  the live frontend got Approve / Reject / Edit buttons (not the headless auto-approve policy),
  click Reject (logged as rejected, buttons disabled, a new proposal shown), then Approve each
  following proposal (each runs one experiment and logs its val_bpb) until the panel says all
  experiments are decided, and check that the lesson's next cell, which asserts exactly that,
  now passes.

Screenshots land in ``build/screenshots/`` (also on failure: ``FAILED_<test>.png``).

Needs ``/usr/bin/chromium`` (``$LOOPLAB_CHROMIUM`` overrides; ``make browser-deps`` installs
Debian's package when run as root) and the ``playwright`` Python package (in the ``dev`` extra;
its own browser download is never used). Without either, the tests skip and say which is missing.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from looplab import economics as E

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("LOOPLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LESSON01 = "01_the_cost_of_a_frontier_run.ipynb"
LESSON03 = "03_an_llm_runs_the_experiments.ipynb"
RUN_TIMEOUT_MS = 150_000      # Run All of a lesson at smoke scale (about a minute on 2 cores)
UI_TIMEOUT_MS = 30_000        # any single UI reaction
LLM_STEP_TIMEOUT_MS = 300_000  # lesson 03: up to the panel, or one sign-off's reaction (an LLM call + a run)

pytestmark = pytest.mark.slow


def _why_skip() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"no Chromium at {CHROMIUM}: run `make browser-deps` as root on Debian/Ubuntu "
                "(apt-get install chromium chromium-driver), or set LOOPLAB_CHROMIUM to a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]' (its own browser download is not needed)"
    return None


_SKIP = _why_skip()
if _SKIP:
    pytestmark = [pytest.mark.slow, pytest.mark.skip(reason=_SKIP)]


# -- the JupyterLab server ----------------------------------------------------------------------

# Settings a fresh JupyterLab reads from JUPYTERLAB_SETTINGS_DIR: render every cell (no
# virtual scrolling, so cells below the fold are in the page) and ask the web for no news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        '{"fetchNews": "false", "checkForUpdates": false}',
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a condition (the server's status endpoint), not a fixed wait
    raise RuntimeError(f"JupyterLab did not answer {url.split('?')[0]} within {timeout:.0f} s:\n"
                       f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(request):
    """JupyterLab on 127.0.0.1 over a copy of lessons/; yields (base_url, token, root of the copy)."""
    # A neutral folder name: the kernel's sign-off guesses "no live frontend" when its parent's
    # command line mentions pytest, so the root must not live under pytest's tmp_path.
    work = Path(tempfile.mkdtemp(prefix="looplab-lab-"))
    root = work / "lessons"
    shutil.copytree(ROOT / "lessons", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "build"))
    for rel, text in LAB_SETTINGS.items():
        f = work / "settings" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, LOOPLAB_SCALE="smoke", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", JUPYTER_TOKEN=token, MPLBACKEND="module://matplotlib_inline.backend_inline",
               JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(work / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"))
    env.pop("LOOPLAB_SIGNOFF", None)  # the live frontend must be detected as a learner would meet it
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):  # a test never spends money on a paid API
        env.pop(key, None)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = work / "jupyterlab.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    failed_before = request.session.testsfailed
    try:
        _wait_ready(f"{base}/api/status?token={token}", proc, log)
        yield base, token, root
    finally:
        proc.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)  # our own session: the server and the kernels it started
            proc.wait(timeout=10)
        if request.session.testsfailed > failed_before:  # keep the server's log next to the screenshots
            SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, SHOTS / "FAILED_jupyterlab.log")
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Debian's binary, a fresh profile) driven by Playwright."""
    from playwright.sync_api import sync_playwright
    profile = tempfile.mkdtemp(prefix="looplab-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, request):
    pg = browser.new_page()
    for stale in (f"FAILED_{request.node.name}.png", "FAILED_jupyterlab.log"):
        (SHOTS / stale).unlink(missing_ok=True)
    failed_before = request.session.testsfailed
    yield pg
    if request.session.testsfailed > failed_before:  # the call phase failed: keep what the page showed
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SHOTS / f"FAILED_{request.node.name}.png"))
    pg.close()


def _shot(target, name: str) -> str:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    target.screenshot(path=str(path))
    return str(path.relative_to(ROOT))


# -- what a learner does in JupyterLab ------------------------------------------------------------

def open_notebook(page, lab, name: str) -> None:
    """Open a notebook and wait until *its* kernel has started and is idle."""
    base, token, _ = lab
    # ?reset: a fresh workspace, so no tab from an earlier test is restored next to this one
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    # the status bar reads "Python 3 (ipykernel) | Idle ... <name>" once this notebook's kernel is
    # connected; a Run All sent before that opens JupyterLab's "Select Kernel" dialog instead
    page.wait_for_function(_KERNEL_IDLE_JS, arg=name, timeout=60_000)


_KERNEL_IDLE_JS = """(name) => {
  const bar = document.querySelector('#jp-main-statusbar');
  const t = bar ? bar.innerText : '';
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const title = document.querySelector('.lm-DockPanel-tabBar .lm-mod-current .lm-TabBar-tabLabel');
  return /\\|\\s*Idle/.test(t) && !/No Kernel/.test(t) && t.includes(name) && panel !== null
         && title !== null && title.textContent.trim() === name;
}"""


def menu(page, top: str, item: str) -> None:
    """Click a menu bar entry, then an item of its menu (exact label)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()


# every code cell has an execution number ([3]: not [ ]: nor [*]:), or some cell failed ([!])
_ALL_DONE_JS = """() => {
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const ps = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
  if (ps.some(p => p.textContent.includes('[!]'))) return 'error';
  return ps.length > 0 && ps.every(p => /\\[\\d+\\]/.test(p.textContent)) ? 'done' : false;
}"""


def output_text(page) -> str:
    return "\n".join(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").all_inner_texts())


def assert_no_traceback(page) -> None:
    text = output_text(page)
    m = re.search(r"Traceback \(most recent call last\)|^\w+Error: .*$", text, re.M)
    assert m is None, f"a cell failed in the browser:\n{text[max(0, m.start() - 300): m.start() + 1500]}"


def _no_dialog(page) -> None:
    dialog = page.locator(".jp-Dialog")
    assert dialog.count() == 0, f"JupyterLab opened a dialog instead of running: {dialog.first.inner_text()[:300]!r}"


def wait_all_run(page) -> None:
    state = page.wait_for_function(_ALL_DONE_JS, timeout=RUN_TIMEOUT_MS).json_value()
    _no_dialog(page)
    assert_no_traceback(page)
    assert state == "done", "a cell shows [!] (failed) but no traceback was found"


# -- lesson 01: run it, then move the cost calculator --------------------------------------------

SHOWN_COST = re.compile(r"N = ([\d.e+]+) params, D = ([\d.e+]+) tokens.*?\$([\d,]+) at \$([\d.]+)/chip-hour", re.S)


def _calculator_cost(log10_n: float, log10_d: float = 12.0, usd_per_hour: float = 2.5) -> float:
    """What lesson 01's calculator should show at its default chip (H100) and MFU (0.4)."""
    return E.cost_of_flops(E.training_flops(10 ** log10_n, 10 ** log10_d), "H100", 0.4, usd_per_hour=usd_per_hour)


def test_lesson01_runs_and_the_cost_slider_moves_the_cost(lab, page):
    t0 = time.monotonic()
    open_notebook(page, lab, LESSON01)
    menu(page, "Run", "Run All Cells")
    wait_all_run(page)
    t_run = time.monotonic() - t0
    _shot(page, "lesson01_after_run_all.png")

    # the calculator: a VBox of sliders with an Output area that price_run() prints into
    calc = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-vbox", has=page.locator(".widget-output")).first
    calc.scroll_into_view_if_needed()
    slider = calc.locator(".widget-slider", has=page.locator(".widget-label", has_text="log10 N"))
    readout = slider.locator(".widget-readout")
    shown = calc.locator(".widget-output")
    page.wait_for_function("el => /\\$[\\d,]+ at \\$/.test(el.innerText)", arg=shown.element_handle())
    shown.locator("img").first.wait_for(state="visible")
    before = SHOWN_COST.search(shown.inner_text())
    assert before, f"the calculator shows no cost line: {shown.inner_text()[:500]!r}"
    r0 = readout.inner_text()
    n0 = float(r0)
    assert n0 == pytest.approx(11.0)
    usd0 = float(before.group(3).replace(",", ""))
    assert usd0 == pytest.approx(_calculator_cost(n0), rel=1e-6, abs=1)
    _shot(calc, "lesson01_calculator_before.png")

    # drag the handle to the right, as a learner does with the mouse
    # by about a seventh of the track: log10 N from 11 to about 12 (the track spans 6 to 13)
    handle = slider.locator(".noUi-handle")
    box, track = handle.bounding_box(), slider.locator(".noUi-target").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + track["width"] / 7, y, steps=8)
    page.mouse.up()
    page.wait_for_function("([el, v]) => el.innerText.trim() !== v", arg=[readout.element_handle(), r0.strip()])
    n1 = float(readout.inner_text())
    assert n0 < n1 < 13, f"dragging right by a seventh of the track should move log10 N from {n0} to about 12, " \
                         f"the readout shows {n1}"

    # the kernel re-runs price_run(); wait until the shown cost is the one for the new position
    want = f"${_calculator_cost(n1):,.0f} at $2.50/chip-hour"
    page.wait_for_function("([el, s]) => el.innerText.includes(s)", arg=[shown.element_handle(), want])
    shown.locator("img").first.wait_for(state="visible")  # the re-drawn plot follows the printout
    after = SHOWN_COST.search(shown.inner_text())
    usd1 = float(after.group(3).replace(",", ""))
    assert float(after.group(1)) == pytest.approx(10 ** n1, rel=1e-2)
    assert usd1 != usd0 and usd1 / usd0 == pytest.approx(10 ** (n1 - n0), rel=1e-6)
    shot = _shot(calc, "lesson01_calculator_after.png")
    print(f"\nlesson 01 in Chromium: Run All {t_run:.1f} s; slider log10 N {n0:.2f} -> {n1:.2f}, "
          f"cost ${usd0:,.0f} -> ${usd1:,.0f}; screenshots in {Path(shot).parent}/")


# -- lesson 03: the human sign-off panel ------------------------------------------------------------

def _cell(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def _cell_index(lab, notebook: str, needle: str) -> int:
    """Index (among all cells, as the page lists them) of the first code cell containing ``needle``.

    Read from the copy JupyterLab serves: lessons/ may have changed since it was taken.
    """
    import nbformat
    nb = nbformat.read(str(lab[2] / notebook), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and needle in cell.source:
            return i
    raise AssertionError(f"no code cell containing {needle!r} in {notebook}")


DONE = r"\[centaur#0\] (all \d+ experiments decided|budget of \d+ experiments spent)"


def _enabled(panel_area, label: str):
    return panel_area.locator("button.widget-button:not([disabled])", has_text=re.compile(f"^{label}$"))


def test_lesson03_signoff_buttons_drive_the_loop(lab, page):
    if not (lab[2] / LESSON03).exists():
        pytest.skip(f"lessons/{LESSON03} is not in the repository yet")
    t0 = time.monotonic()
    open_notebook(page, lab, LESSON03)
    # run everything above the cell that waits for the sign-off, then the sign-off cell itself
    signoff = _cell_index(lab, LESSON03, "loop.interactive(")
    after = _cell_index(lab, LESSON03, 'loop.state(yours.name)["slots_done"]')
    assert after > signoff
    _cell(page, after).locator(".jp-InputPrompt").click()
    menu(page, "Run", "Run All Above Selected Cell")
    page.wait_for_function(
        """(n) => { if (document.querySelector('.jp-Dialog')) return true;
                    const ps = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')]
                      .slice(0, n).filter(c => c.classList.contains('jp-CodeCell'))
                      .map(c => c.querySelector('.jp-InputPrompt').textContent);
                    return ps.some(p => p.includes('[!]')) || ps.every(p => /\\[\\d+\\]/.test(p)); }""",
        arg=after, timeout=LLM_STEP_TIMEOUT_MS)
    _no_dialog(page)
    assert_no_traceback(page)
    area = _cell(page, signoff).locator(".jp-Cell-outputArea")
    # in a live JupyterLab the kernel must pick the buttons, not the headless auto-approve policy
    assert "auto-approve" not in area.inner_text(), "the sign-off fell back to auto-approve in a live JupyterLab"
    _enabled(area, "Approve").wait_for(timeout=LLM_STEP_TIMEOUT_MS)
    t_ready = time.monotonic() - t0
    first_card = area.locator(".widget-html pre").first.inner_text()
    assert "Proposal for experiment" in first_card and "changes" in first_card
    _shot(page, "lesson03_signoff_panel.png")

    # Reject the first proposal: nothing runs, the ledger logs it, and the LLM is asked again
    _enabled(area, "Reject").first.click()
    area.get_by_text("REJECTED (rejected by human)").wait_for(timeout=LLM_STEP_TIMEOUT_MS)
    area.locator(".widget-html", has_text="reject by human").first.wait_for()
    assert area.locator("button.widget-button[disabled]", has_text="Reject").count() >= 1

    # Approve every proposal that follows until all experiments are decided: each runs one experiment
    approved = 0
    while True:
        _enabled(area, "Approve").first.wait_for(timeout=LLM_STEP_TIMEOUT_MS)
        _enabled(area, "Approve").first.click()
        approved += 1
        page.wait_for_function(
            """([el, n]) => (el.innerText.match(/val_bpb [0-9.]+ +(KEPT|discarded)/g) || []).length >= n""",
            arg=[area.element_handle(), approved], timeout=LLM_STEP_TIMEOUT_MS)
        # then either the next proposal's buttons or the closing line appear
        page.wait_for_function(
            """(el) => /experiments decided|budget of/.test(el.innerText)
                      || [...el.querySelectorAll('button.widget-button')].some(b => !b.disabled && b.innerText.trim() === 'Approve')""",
            arg=area.element_handle(), timeout=LLM_STEP_TIMEOUT_MS)
        if re.search(DONE, area.inner_text()):
            break
        assert approved < 10, "the loop keeps asking for sign-off after its budget"
    text = area.inner_text()
    runs = re.findall(r"exp +\d+ \[centaur#0\] .*val_bpb ([0-9.]+) +(KEPT|discarded)", text)
    assert len(runs) == approved >= 1, text[-2000:]
    _shot(area, "lesson03_after_signoff.png")   # the whole panel history: rejected, approved, done

    # the next cell checks that every slot was decided: it must now pass
    _cell(page, after).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        """(el) => /\\[\\d+\\]|\\[!\\]/.test(el.querySelector('.jp-InputPrompt').textContent)""",
        arg=_cell(page, after).element_handle(), timeout=UI_TIMEOUT_MS)
    assert_no_traceback(page)
    print(f"\nlesson 03 in Chromium: sign-off panel after {t_ready:.1f} s; 1 rejected, {approved} approved "
          f"({', '.join(f'{v} {s}' for v, s in runs)}); total {time.monotonic() - t0:.1f} s")
