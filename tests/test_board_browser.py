"""The class board in a real browser, at a projector's 1024×768: a teacher opens a board, a
student joins it from a phone and trains, and the teacher's board shows the run on its own."""
import pytest

from pages import WAIT, open_page, playwright_or_skip, served_site, train_tiny_bigram

sync_api = playwright_or_skip()
HOSTILE = "<img src=x onerror=h=1>"          # 23 characters: a nickname fits 24
PROJECTOR = dict(width=1024, height=768)


@pytest.fixture(scope="module")
def site():
    yield from served_site()


def open_board(page, race: str | None, family: str) -> tuple[str, str]:
    """As a teacher: open a board; returns (its code, the teacher link)."""
    page.get_by_role("tab", name="Class board").click()
    page.get_by_text("Open a board (teachers)").click()
    page.get_by_role("radio", name=race or "no race: students choose").check()
    page.locator("#board-teacher").get_by_role("radio", name=family, exact=True).check()
    page.locator("#board-open-btn").click()
    link_box = page.locator("#board-teacher-link textarea, #board-teacher-link input").first
    link_box.wait_for(timeout=WAIT)
    page.wait_for_function("() => document.querySelector('#board-teacher-link textarea, #board-teacher-link input')"
                           ".value.includes('teacher=')", timeout=WAIT)
    link = link_box.input_value()
    return link.split("board=")[1].split("&")[0], link


def join(page, code: str, name: str) -> None:
    page.get_by_role("tab", name="Class board").click()
    page.locator("#board-code textarea, #board-code input").first.fill(code)
    page.locator("#board-nickname textarea, #board-nickname input").first.fill(name)
    page.locator("#board-join-btn").click()
    page.wait_for_function("() => document.querySelector('#board-seat-note').innerText.includes('You are')",
                           timeout=WAIT)


def test_a_student_run_reaches_the_projected_board(site):
    teacher = open_page(site, **PROJECTOR)
    code, link = open_board(teacher, None, "any")
    assert code.startswith("GPT-") and "teacher=" not in teacher.url
    student = open_page(site, f"?tab=board&board={code}", width=390, height=844)
    join(student, code, HOSTILE)
    train_tiny_bigram(student)
    status = student.locator("#train-status").bounding_box()
    assert 0 <= status["y"] < 844 * 0.6, "on a phone, Train brings its status and curve into view"
    student.wait_for_function("() => document.body.innerText.includes('Posted to board')", timeout=WAIT)
    # the teacher's page redraws by itself: the run, its name as typed, and no markup from it
    teacher.wait_for_function(f"() => document.querySelector('#board-table').innerText.includes({HOSTILE!r})",
                              timeout=WAIT)
    teacher.locator("#board-plot .js-plotly-plot").wait_for(timeout=WAIT)
    assert teacher.evaluate("() => window.h") is None
    assert teacher.locator("#board-table img, #board-plot img, #board-samples img").count() == 0
    plot = teacher.locator("#board-plot").bounding_box()
    assert plot["y"] < 768 - 200, "the board's curves start on the projector's first screen"
    assert teacher.locator("#board-table").bounding_box()["x"] > plot["x"] + plot["width"] / 2, \
        "the leaderboard stands beside the curves at 1024 px"


def test_the_boards_redraw_leaves_the_teachers_focus_and_typing_alone(site):
    """A teacher typing a name to remove (keyboard, or a screen reader's focus) while a student
    joins: the board redraws itself on every page that shows it, and the caret stays where it was
    with the letters typed so far."""
    teacher = open_page(site, **PROJECTOR)
    code, _ = open_board(teacher, None, "any")
    try:
        teacher.get_by_text("Seats: who joined").click()
        teacher.locator("#board-remove-name input").click()
        teacher.keyboard.type("Ed")
        headline = teacher.locator("#board-headline").inner_text()
        join(open_page(site, width=390, height=844), code, "Eduardo")
        teacher.wait_for_function("() => document.querySelector('#board-seats')?.innerText.includes('Eduardo')",
                                  timeout=WAIT)
        assert teacher.locator("#board-headline").inner_text() != headline      # the whole board was redrawn
        teacher.wait_for_timeout(1500)                                          # and anything after it
        focused = teacher.evaluate("() => ({inside: !!document.activeElement.closest('#board-remove-name'),"
                                   " value: document.activeElement.value})")
        assert focused == {"inside": True, "value": "Ed"}
    finally:
        teacher.locator("#board-close-btn").click()          # an address holds at most 3 open boards


def test_the_projected_board_has_no_teacher_controls_nor_forms(site):
    """The page the app told the teacher to project held the secret teacher link and the Close
    button under the board: the teacher's note now links a projector view of the board alone."""
    teacher = open_page(site, **PROJECTOR)
    code, link = open_board(teacher, "0.25 min", "GPT")
    projector_link = teacher.locator("#board-teacher-note a", has_text="projector view").get_attribute("href")
    assert projector_link.endswith(f"?tab=board&board={code}&projector=1") and "teacher=" not in projector_link
    projected = open_page(site, projector_link[projector_link.index("?"):], **PROJECTOR)
    projected.get_by_text(f"Join in Class board with the code {code}").wait_for(timeout=WAIT)
    projected.locator("#board-headline").get_by_text(code).first.wait_for(timeout=WAIT)
    for hidden in ("#board-join", "#board-teacher", "#board-teacher-panel", "#board-close-btn"):
        assert not projected.locator(hidden).is_visible(), hidden
    projected.wait_for_function("() => !location.search.includes('projector')", timeout=WAIT)
    # Share on the projected page gives the students' link: the board, not the projector view
    projected.get_by_role("button", name="Share this view").click()
    projected.wait_for_function("(c) => document.querySelector('#share-link textarea')?.value.includes('board=' + c)",
                                arg=code, timeout=WAIT)
    assert "projector" not in projected.locator("#share-link textarea").input_value()


def test_a_race_locks_the_settings_and_only_the_teacher_link_closes_it(site):
    teacher = open_page(site, **PROJECTOR)
    code, link = open_board(teacher, "0.25 min", "GPT")
    student = open_page(site, **PROJECTOR)
    join(student, code, "Ada")
    student.get_by_role("tab", name="Train live").click()
    assert code in student.locator("#train-board-note").inner_text()
    assert student.locator("input[aria-label='number input for Minutes · 🔒 set by the class board']").is_disabled()
    assert student.get_by_role("radio", name="MLP").is_disabled()
    # shown locked, not only refused by the server: the labels of what the race fixes say so
    assert student.get_by_text("Corpus · 🔒 set by the class board").is_visible()
    # a link with a wrong key shows the board without its controls; the teacher's own link has them
    stranger = open_page(site, f"?tab=board&board={code}&teacher=guessed", **PROJECTOR)
    stranger.locator("#board-plot, #board-table").first.wait_for(timeout=WAIT)
    stranger.wait_for_function("() => document.body.innerText.includes('not this board')", timeout=WAIT)
    assert not stranger.locator("#board-close-btn").is_visible()
    again = open_page(site, link[link.index("?"):], **PROJECTOR)
    again.locator("#board-close-btn").wait_for(timeout=WAIT)
    again.wait_for_function("() => !location.search.includes('teacher=')", timeout=WAIT)
    again.wait_for_function("(link) => document.querySelector('#board-teacher-link textarea, "
                            "#board-teacher-link input').value === link", arg=link, timeout=WAIT)   # the whole link
    again.locator("#board-close-btn").click()
    again.wait_for_function("() => document.querySelector('#board-headline').innerText.includes('Closed')",
                            timeout=WAIT)
    student.get_by_role("button", name="Train", exact=True).click()
    student.wait_for_function("() => document.body.innerText.includes('is closed')", timeout=WAIT)
    # told plainly, let go of the board, and training anyway (it used to stay at "Preparing…")
    student.wait_for_function("() => document.querySelector('#train-board-note')?.innerText.includes("
                              "'does not post to a board')", timeout=WAIT)
    student.locator("input[aria-label='number input for Minutes']").wait_for(timeout=WAIT)   # unlocked, labelled so
    assert not student.locator("input[aria-label='number input for Minutes']").is_disabled()
    student.wait_for_function("() => /Training|step|waiting|ahead/.test(document.body.innerText)", timeout=WAIT)
    student.get_by_role("button", name="Stop", exact=True).last.click()


def test_a_seat_survives_a_reload_and_the_teacher_can_remove_it(site):
    teacher = open_page(site, **PROJECTOR)
    code, _ = open_board(teacher, None, "any")
    student = open_page(site, **PROJECTOR)
    join(student, code, "Bo")
    student.reload()
    student.get_by_role("tab", name="Class board").click()
    student.wait_for_function("() => document.querySelector('#board-seat-note')?.innerText.includes('Welcome back')",
                              timeout=WAIT)
    assert "Bo" in student.locator("#board-seat-note").inner_text()
    # the teacher's page lists the seat (it redraws by itself), and removes it
    teacher.get_by_text("Seats: who joined").click()
    teacher.wait_for_function("() => document.querySelector('#board-seats')?.innerText.includes('Bo')", timeout=WAIT)
    teacher.locator("#board-remove-name input").click()
    teacher.get_by_role("option", name="Bo", exact=True).click()
    teacher.locator("#board-remove-btn").click()
    teacher.wait_for_function("() => document.body.innerText.includes('Removed')", timeout=WAIT)
    student.reload()
    student.get_by_role("tab", name="Class board").click()
    student.wait_for_function("() => document.querySelector('#board-seat-note')?.innerText.includes('is gone')",
                              timeout=WAIT)


def test_a_generated_text_can_be_clicked_through_in_features(site):
    """Lab → Features: "My last generation" puts the session's text under the characters to click."""
    page = open_page(site, width=1280, height=800)
    page.get_by_label("Prompt", exact=True).fill("ROMEO:\n")
    page.get_by_label("New characters").last.fill("40")
    page.get_by_label("New characters").last.press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function("() => new URLSearchParams(location.search).has('gen')", timeout=WAIT)
    generated = page.input_value("#output-text textarea")
    page.get_by_role("tab", name="Lab").click()
    page.get_by_role("tab", name="Features").click()
    page.locator("#features-last").click()
    page.wait_for_function("(text) => document.querySelector('#features-text textarea').value === text",
                           arg=generated, timeout=WAIT)
    last = generated.rstrip("\n ")[-1]
    page.locator("#feature-chars .token .text", has_text=last).last.click()
    page.wait_for_function("() => document.querySelector('#feature-at-note').innerText.includes('After character')",
                           timeout=WAIT)
    # the opening shows the most frequent feature and the list names it (it was blank: the number box
    # sent 0, feature 0 was shown, and the list did not hold it)
    from studio.features import atlas_for
    from studio.zoo import ModelZoo

    first = atlas_for(ModelZoo("checkpoints"), "checkpoints").search("")[0][1]
    page.get_by_text(f"Feature {first}", exact=True).first.wait_for(timeout=WAIT)
    listed = page.get_by_label("Most frequent features")
    assert listed.input_value().startswith(f"#{first} ·"), listed.input_value()
    # a row of the table opens its feature, and the list then names that one too
    cell = page.locator("#feature-table").get_by_role("gridcell").first
    row_feature = cell.inner_text().strip()
    cell.click()
    page.get_by_text(f"Feature {row_feature}", exact=True).first.wait_for(timeout=WAIT)
    page.wait_for_function("(f) => document.querySelector('#feature-found input')?.value.startsWith('#' + f + ' ·')",
                           arg=row_feature, timeout=WAIT)
