"""The product's flows done by hand in the sandbox page, in headless Chromium.

Each test starts `licensebot sandbox` in this process (the real bot over signed HTTP, the fake
Slack Web API and the page) and drives the page as a person would; it asserts on what the
page shows and saves a screenshot of each step under its tmp_path.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Route, expect

from tests.e2e.harness import SlackPage, amount, opened, require_chromium, served

expect.set_options(timeout=10_000)

REASON = "Two people left; <script>alert(1)</script> stays text."


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    require_chromium()
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
async def slack(data_dir: Path, tmp_path: Path) -> AsyncIterator[SlackPage]:
    async with served(data_dir) as (url, _box), opened(url) as page:
        yield SlackPage(page, tmp_path)


async def test_ann_adds_licenses_and_watches_the_price(slack: SlackPage) -> None:
    await slack.be("Ann")
    await slack.command("/licenses add")
    modal = await slack.modal_titled("Add licenses")
    await expect(modal).to_contain_text("Enter a number to see the price.")
    await slack.shot("add-modal")

    count = modal.get_by_label("Licenses to add")
    due = modal.locator(".bk-field", has_text="Total Due Today")
    await count.press_sequentially("1")
    await expect(due).to_contain_text("1 × $49.00, prorated to")
    one = amount(await due.inner_text())
    await count.fill("3")
    await expect(modal).to_contain_text("13 (10 + 3)")
    await expect(due).to_contain_text("3 × $49.00, prorated to")
    three = amount(await due.inner_text())
    assert three != one
    # Three licenses cost three times one, give or take the rounding to cents.
    assert abs(Decimal(three[1:]) - 3 * Decimal(one[1:])) <= Decimal("0.02")
    await expect(modal).to_contain_text("$637.00 per month")
    await slack.shot("add-quote")

    # While the bot has not answered, the modal's buttons are disabled.
    answered = asyncio.Event()

    async def hold(route: Route) -> None:
        await answered.wait()
        await route.continue_()

    await slack.page.route("**/api/submit", hold)
    order = modal.get_by_role("button", name="Order Now")
    await order.click()
    await expect(order).to_be_disabled()
    await expect(modal.get_by_role("button", name="Cancel")).to_be_disabled()
    answered.set()
    receipt = await slack.modal_titled("Order placed")
    await slack.page.unroute("**/api/submit", hold)
    await expect(receipt).to_contain_text("You added 3 licenses")
    await expect(receipt).to_contain_text("10 → 13")
    await expect(receipt.locator(".bk-field", has_text="Charged today")).to_contain_text(three)
    await slack.shot("receipt")
    await slack.close_modal()

    await slack.go("nav-dm")
    dm = slack.messages.get_by_test_id("message").last
    await expect(dm).to_contain_text("You added 3 licenses")
    await expect(dm).to_contain_text(three)
    await slack.shot("receipt-dm")

    await slack.go("nav-home")
    home = slack.page.get_by_test_id("home")
    await expect(home).to_contain_text("Acme Corp licenses")
    await expect(home).to_contain_text("+3 (10 → 13)")
    await slack.shot("app-home")


async def test_bob_is_refused_and_asks_an_admin(slack: SlackPage) -> None:
    await slack.be("Bob")
    await slack.command("/licenses")
    refusal = slack.messages.get_by_test_id("ephemeral")
    await expect(refusal).to_contain_text(
        "Only license admins of Acme Corp can change licenses. Admins: @Ann, erin@acme.example."
    )
    await expect(refusal).to_contain_text("Only visible to you")
    await expect(slack.modal).to_have_count(0)
    await slack.shot("bob-refused")

    await refusal.get_by_role("button", name="Ask an admin").click()
    await expect(refusal).to_contain_text("Sent to 2 admins of Acme Corp.")
    await slack.shot("bob-asked")

    await slack.be("Ann")
    await slack.go("nav-dm")
    await expect(slack.messages).to_contain_text("@Bob asks to manage licenses for Acme Corp.")
    await slack.shot("ann-is-asked")


async def test_the_enterprise_12_admin_is_routed_to_the_csm(slack: SlackPage) -> None:
    await slack.be("Ira")
    await slack.command("/licenses")
    plan = await slack.modal_titled("Licenses")
    ask = plan.get_by_role("button", name="Ask my CSM")
    await expect(ask).to_be_visible()
    await expect(plan).to_contain_text("Initech")
    await expect(plan.get_by_role("button", name="Add licenses")).to_have_count(0)
    await slack.shot("ira-plan")

    await ask.click()
    sent = await slack.modal_titled("Ask my CSM")
    await expect(sent).to_contain_text("Sent. Casey Doe has your request")
    await slack.shot("ira-sent")
    await slack.close_modal()

    await slack.be("Casey")
    await slack.go("channel-csm-requests")
    post = slack.messages.get_by_test_id("message").last
    await expect(post).to_contain_text(
        "@Ira of Initech (Enterprise, 12 licenses) asks for more licenses"
    )
    await expect(post.locator(".mention", has_text="@Casey")).to_be_visible()
    await slack.shot("csm-channel-request")


async def test_ann_asks_to_remove_and_casey_approves(slack: SlackPage) -> None:
    await slack.be("Ann")
    await slack.command("/licenses remove")
    form = await slack.modal_titled("Remove licenses")
    await expect(form.get_by_label(re.compile("At the next renewal"))).to_be_checked()
    await form.get_by_role("button", name="Send request").click()
    # Slack's own check: nothing reaches the bot while a required field is empty.
    await expect(slack.page.get_by_test_id("error-removal_count")).to_have_text(
        "Please complete this required field."
    )
    await form.get_by_label("Licenses to remove").fill("2")
    await expect(slack.page.get_by_test_id("error-removal_count")).to_have_text("")
    await form.get_by_label("Reason").fill(REASON)
    await slack.shot("removal-form")
    await form.get_by_role("button", name="Send request").click()
    sent = await slack.modal_titled("Request sent")
    await expect(sent).to_contain_text("Request RR-00001 is with your Customer Success Manager")
    await slack.shot("removal-sent")
    await slack.close_modal()

    await slack.be("Casey")
    await slack.go("channel-csm-requests")
    post = slack.messages.get_by_test_id("message").filter(has_text="RR-00001").first
    await expect(post).to_contain_text("License removal request RR-00001 for Acme Corp")
    await expect(post).to_contain_text("10 → 8 (remove 2)")
    await expect(post).to_contain_text(REASON)  # escaped: shown as text, never run
    await slack.shot("csm-request")

    await post.get_by_role("button", name="Approve").click()
    decision = await slack.modal_titled("Approve removal")
    effective = decision.get_by_label("Takes effect on")
    renewal = await effective.input_value()
    await effective.fill("2020-01-01")
    await decision.get_by_test_id("modal-submit").click()
    # The bot's answer (response_action: errors) under its input.
    await expect(slack.page.get_by_test_id("error-removal_effective")).to_have_text(
        "Pick today or a later date."
    )
    await slack.shot("approve-error")
    await effective.fill(renewal)
    await decision.get_by_label("Note to the admin").fill("Done, thanks for telling us.")
    await decision.get_by_test_id("modal-submit").click()
    done = await slack.modal_titled("Removal request")
    await expect(done).to_contain_text("You approved RR-00001: Acme Corp goes from 10 to 8")
    await slack.close_modal()

    await expect(post).to_contain_text("Approved by @Casey")
    await expect(post.get_by_role("button", name="Approve")).to_have_count(0)
    await expect(post.get_by_test_id("thread")).to_contain_text("@Casey approved this request")
    await slack.shot("csm-approved")

    await slack.be("Ann")
    await slack.go("nav-dm")
    await expect(slack.messages).to_contain_text("We received your request RR-00001")
    told = slack.messages.get_by_test_id("message").filter(has_text="Your removal request RR-00001")
    await expect(told.last).to_contain_text("Approved")
    # ":white_check_mark:" drawn as Slack draws it: an image, not a character.
    await expect(told.last.locator("img.emoji[alt=':white_check_mark:']").first).to_be_visible()
    await slack.shot("ann-told")


async def test_mrkdwn_is_rendered_and_escaped(slack: SlackPage) -> None:
    html = await slack.page.evaluate(
        """() => window.licensebotPage.mrkdwn(
            "*bold* _it_ `a<b` <@U0ANN> <https://x.example/?a=1&amp;b=2|site> <b>hi</b>\\n>quoted"
        )"""
    )
    assert html == (
        '<b>bold</b> <i>it</i> <code>a&lt;b</code> <span class="mention">@Ann</span> '
        '<a href="https://x.example/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">'
        "site</a> &lt;b&gt;hi&lt;/b&gt;<blockquote>quoted</blockquote>"
    )


async def test_hana_adds_licensebot_to_hooli_and_links_it_with_caseys_code(
    slack: SlackPage,
) -> None:
    await slack.be("Hana")
    not_installed = slack.page.get_by_test_id("composer-not-installed")
    await expect(not_installed).to_contain_text("licensebot isn't installed in Hooli")
    await expect(slack.page.get_by_test_id("nav-dm")).to_have_count(0)
    await slack.command("/licenses")
    notice = slack.page.get_by_test_id("slackbot-notice")
    await expect(notice).to_contain_text("/licenses is not a valid command in Hooli")
    await slack.shot("hooli-not-installed")

    # Add to Slack opens the bot's install page in a new tab, then Slack's authorize page.
    async with slack.page.context.expect_page() as new_tab:
        await not_installed.get_by_test_id("add-to-slack").click()
    tab = await new_tab.value
    await tab.get_by_role("link", name="Add to Slack").click()
    await expect(tab.get_by_role("heading")).to_have_text("Install licensebot to Hooli")
    await tab.get_by_role("button", name="Allow").click()
    await expect(tab.get_by_role("heading")).to_have_text("licensebot is installed in Hooli")
    await tab.screenshot(path=slack.shots / "hooli-installed-tab.png")
    await tab.close()

    # Back in the sandbox, live: licensebot is in Hooli now.
    await expect(notice).to_have_count(0)
    await expect(not_installed).to_be_hidden()
    await expect(slack.page.get_by_test_id("nav-dm")).to_be_visible()
    await slack.command("/licenses")
    await expect(slack.messages.get_by_test_id("ephemeral").last).to_contain_text(
        "is not linked to a licensing account yet"
    )
    await slack.shot("hooli-installed")

    await slack.be("Casey")
    await slack.go("channel-csm-requests")
    await slack.command("/licenses link-code hooli")
    made = slack.messages.get_by_test_id("ephemeral").last
    await expect(made).to_contain_text("Link code for Hooli")
    code = re.search(r"Link code for Hooli: (\S+)", await made.inner_text())
    assert code, await made.inner_text()
    await slack.shot("casey-link-code")

    await slack.be("Hana")
    await slack.command(f"/licenses link {code.group(1)}")
    await expect(slack.messages.get_by_test_id("ephemeral").last).to_contain_text(
        "This workspace is now linked to Hooli"
    )
    await slack.command("/licenses")
    plan = await slack.modal_titled("Licenses")
    await expect(plan).to_contain_text("Hooli")
    await slack.shot("hana-plan")


async def test_emoji_are_drawn_as_images_without_an_emoji_font(slack: SlackPage) -> None:
    await slack.be("Ira")
    await slack.command("/licenses")
    plan = await slack.modal_titled("Licenses")
    # The bot's ":information_source:" as Slack draws it: an image, with the shortcode as alt.
    icon = plan.locator("img.emoji[data-emoji=information_source]")
    await expect(icon).to_be_visible()
    await expect(icon).to_have_attribute("alt", ":information_source:")
    drawn = await icon.evaluate(
        """async (img) => {
            await img.decode();
            const canvas = document.createElement("canvas");
            canvas.width = canvas.height = 36;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0, 36, 36);
            const pixels = context.getImageData(0, 0, 36, 36).data;
            let opaque = 0, blue = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i + 3] > 200) opaque += 1;
                if (pixels[i + 2] > 150 && pixels[i] < 100 && pixels[i + 3] > 200) blue += 1;
            }
            const box = img.getBoundingClientRect();
            return {natural: img.naturalWidth, width: box.width, height: box.height, opaque, blue};
        }"""
    )
    # Loaded, about a line high, and painted: most of it the blue square of the "i".
    assert drawn["natural"] > 0, drawn
    assert 14 <= drawn["width"] <= 30 and drawn["height"] == drawn["width"], drawn
    assert drawn["opaque"] > 36 * 36 / 2 and drawn["blue"] > 36 * 36 / 3, drawn
    # No emoji character is left for a font to draw (or to draw as an empty box).
    text = await plan.inner_text()
    assert "ℹ" not in text and ":information_source:" not in text
    await icon.screenshot(path=slack.shots / "emoji-information-source.png")
    await slack.shot("emoji-in-a-modal")

    page = slack.page
    approved = await page.evaluate(
        "() => window.licensebotPage.mrkdwn(':white_check_mark: *Approved* by <@U0ANN>')"
    )
    assert approved.startswith(
        '<img class="emoji" src="/static/emoji/white_check_mark.svg" alt=":white_check_mark:"'
    ), approved
    assert approved.endswith('> <b>Approved</b> by <span class="mention">@Ann</span>'), approved
    # An emoji character the bot might send is drawn from the same image.
    plain = await page.evaluate(
        "() => window.licensebotPage.plainHtml({type: 'plain_text', text: '⚠️ Careful'})"
    )
    assert 'data-emoji="warning"' in plain and "⚠" not in plain, plain
    # As in Slack: unknown shortcodes, times and code stay as typed.
    kept = await page.evaluate(
        "() => window.licensebotPage.mrkdwn(':no_such_emoji: at 10:00:00 `:x:` :constructor:')"
    )
    assert kept == ":no_such_emoji: at 10:00:00 <code>:x:</code> :constructor:"


async def test_the_switcher_follows_the_account_and_is_readable(slack: SlackPage) -> None:
    await slack.be("Gil")
    switcher = slack.page.get_by_test_id("user-switcher")
    role = slack.page.get_by_test_id("user-role")
    gil = switcher.locator("option", has_text=re.compile(r"^Gil "))
    await expect(gil).to_have_text("Gil — admin · Enterprise, 3 licenses")
    await expect(role).to_have_text("admin of Globex (Enterprise, annual, 3 licenses)")

    await slack.command("/licenses add")
    modal = await slack.modal_titled("Add licenses")
    await modal.get_by_label("Licenses to add").press_sequentially("2")
    await expect(modal).to_contain_text("5 (3 + 2)")
    await modal.get_by_role("button", name="Order Now").click()
    await slack.modal_titled("Order placed")
    await slack.close_modal()
    # Drawn again from the database once the bot has changed it: no reload.
    await expect(gil).to_have_text("Gil — admin · Enterprise, 5 licenses")
    await expect(role).to_have_text("admin of Globex (Enterprise, annual, 5 licenses)")
    await expect(switcher).to_have_attribute(
        "title", "Gil — admin of Globex (Enterprise, annual, 5 licenses)"
    )
    await slack.shot("switcher-after-order")

    # In every workspace, each option's text fits in the switcher (no cut-off), and the
    # whole label under it wraps inside the sidebar.
    for name in ("Vendor", "Acme", "Globex", "Initech", "Umbrella", "Soylent", "Vandelay"):
        await slack.in_workspace(name)
        fits = await switcher.evaluate(
            """(select) => {
                const style = getComputedStyle(select);
                const room = select.clientWidth - parseFloat(style.paddingLeft)
                    - parseFloat(style.paddingRight);
                const context = document.createElement("canvas").getContext("2d");
                context.font = style.font;
                return [...select.options].map((option) => ({
                    text: option.text, width: context.measureText(option.text).width, room,
                    title: option.title,
                }));
            }"""
        )
        assert fits, name
        for option in fits:
            assert option["width"] <= option["room"], option
            assert option["title"], option
        shown = await role.evaluate("(line) => [line.scrollWidth, line.clientWidth]")
        assert shown[0] <= shown[1], (name, shown)
        await slack.shot(f"switcher-{name.lower()}")


async def test_sol_and_val_try_freemium_and_essential(slack: SlackPage) -> None:
    for name, account, plan in (
        ("Sol", "Soylent", "Freemium"),
        ("Val", "Vandelay Industries", "Essential"),
    ):
        await slack.be(name)
        await slack.command("/licenses add")
        modal = await slack.modal_titled("Add licenses")
        await expect(modal).to_contain_text(f"{account} · {plan}, billed monthly")
        await modal.get_by_label("Licenses to add").press_sequentially("1")
        due = modal.locator(".bk-field", has_text="Total Due Today")
        await expect(due).to_contain_text("1 ×")
        await slack.shot(f"{name.lower()}-quote")
        await modal.get_by_role("button", name="Order Now").click()
        receipt = await slack.modal_titled("Order placed")
        await expect(receipt).to_contain_text("You added 1 license")
        if plan == "Freemium":
            await expect(receipt.locator(".bk-field", has_text="Charged today")).to_contain_text(
                "$0.00"
            )
        await slack.close_modal()


async def test_casey_decides_from_her_csm_queue(slack: SlackPage) -> None:
    ann = await slack.ask_to_remove("Ann", 2, "Two people left.")
    val = await slack.ask_to_remove("Val", 1, "One seat unused.")

    await slack.be("Casey")
    await slack.command("/licenses")
    queue = await slack.modal_titled("CSM queue")
    await expect(queue).to_contain_text("Requests waiting for a decision, oldest first.")
    entries = queue.locator(".bk-section").filter(has_text=re.compile(r"RR-\d+"))
    await expect(entries).to_have_count(2)
    # Oldest first: Ann asked before Val. Each with its account's plan and how long it waits.
    await expect(entries.nth(0)).to_contain_text("Acme Corp · Pro · 10 licenses")
    await expect(entries.nth(0)).to_contain_text(
        f"{ann} · remove 2 (10 → 8) · asked by @Ann · open less than a minute"
    )
    await expect(entries.nth(0)).to_contain_text("Two people left.")
    await expect(entries.nth(1)).to_contain_text("Vandelay Industries · Essential · 5 licenses")
    await expect(entries.nth(1)).to_contain_text(
        f"{val} · remove 1 (5 → 4) · asked by @Val · open less than a minute"
    )
    await expect(queue.get_by_role("button", name="Approve")).to_have_count(2)
    await expect(queue.get_by_role("button", name="Deny")).to_have_count(2)
    await slack.shot("csm-queue")

    # Approve opens the decision on top of the queue (Back returns to it).
    await queue.get_by_role("button", name="Approve").first.click()
    decision = await slack.modal_titled("Approve removal")
    await expect(decision).to_contain_text(f"Approve request {ann}: remove 2 licenses")
    await expect(slack.page.get_by_test_id("modal-back")).to_be_visible()
    await slack.shot("csm-queue-approve")
    await decision.get_by_test_id("modal-submit").click()
    done = await slack.modal_titled("Removal request")
    await expect(done).to_contain_text(f"You approved {ann}: Acme Corp goes from 10 to 8")
    await slack.modal.get_by_role("button", name="Close all").click()
    await expect(slack.modal).to_have_count(0)

    # Opened again, the queue has Val's request only.
    await slack.command("/licenses")
    queue = await slack.modal_titled("CSM queue")
    await expect(queue).not_to_contain_text(ann)
    await expect(queue).to_contain_text(f"{val} · remove 1 (5 → 4)")
    await expect(queue.get_by_role("button", name="Approve")).to_have_count(1)
    await slack.close_modal()

    # Her App Home is the same queue; she denies Val's request from there.
    await slack.go("nav-home")
    home = slack.page.get_by_test_id("home")
    await expect(home).to_contain_text("CSM queue")
    await expect(home).to_contain_text("Requests waiting for a decision, oldest first.")
    await expect(home).to_contain_text(f"{val} · remove 1 (5 → 4) · asked by @Val")
    await expect(home).not_to_contain_text(ann)
    await slack.shot("csm-home")
    await home.get_by_role("button", name="Deny").click()
    decision = await slack.modal_titled("Deny removal")
    await decision.get_by_label("Reason for the denial").fill("Those seats are in use.")
    await decision.get_by_test_id("modal-submit").click()
    done = await slack.modal_titled("Removal request")
    await expect(done).to_contain_text(f"You denied {val}")
    await slack.close_modal()

    await slack.go("channel-csm-requests")
    await slack.command("/licenses")
    queue = await slack.modal_titled("CSM queue")
    await expect(queue).to_contain_text("No requests are waiting for a decision.")
    await expect(queue.get_by_role("button", name="Approve")).to_have_count(0)
    await slack.shot("csm-queue-empty")
    await slack.close_modal()
    await slack.go("nav-home")
    await expect(home).to_contain_text("CSM queue")
    await expect(home).to_contain_text("No requests are waiting for a decision.")
    await slack.shot("csm-home-empty")


async def test_ann_reads_her_license_history(slack: SlackPage) -> None:
    await slack.be("Ann")
    await slack.command("/licenses add")
    modal = await slack.modal_titled("Add licenses")
    await modal.get_by_label("Licenses to add").press_sequentially("3")
    await expect(modal).to_contain_text("13 (10 + 3)")
    await modal.get_by_role("button", name="Order Now").click()
    receipt = await slack.modal_titled("Order placed")
    charged = amount(await receipt.locator(".bk-field", has_text="Charged today").inner_text())
    await slack.close_modal()
    removal = await slack.ask_to_remove("Ann", 2, "Two people left.")

    await slack.command("/licenses history")
    history = await slack.modal_titled("License history")
    await expect(history).to_contain_text("Orders and requests of Acme Corp, newest first.")
    lines = history.locator(".bk-section").filter(has_text=re.compile(r"^(Order|Removal request) "))
    await expect(lines).to_have_count(2)
    # Newest first: the removal request, then the order, each with amounts, who and when.
    newest, oldest = lines.nth(0), lines.nth(1)
    await expect(newest.locator("b").first).to_have_text("Removal request")
    await expect(newest).to_contain_text(f"{removal} · remove 2 (13 → 11)")
    await expect(newest).to_contain_text(re.compile(r"asked \w{3} \d{1,2}, \d{4} by @Ann"))
    await expect(oldest.locator("b").first).to_have_text("Order")
    await expect(oldest).to_contain_text(f"+3 (10 → 13) · {charged} · @Ann")
    await expect(oldest).to_contain_text(re.compile(r"\w{3} \d{1,2}, \d{4}"))
    shown = await history.inner_text()
    await slack.shot("history-command")
    await slack.close_modal()

    # App Home's History button opens the same modal.
    await slack.go("nav-home")
    home = slack.page.get_by_test_id("home")
    await expect(home).to_contain_text("Acme Corp licenses")
    await home.get_by_role("button", name="History").click()
    again = await slack.modal_titled("License history")
    await expect(
        again.locator(".bk-section").filter(has_text=re.compile(r"^(Order|Removal request) "))
    ).to_have_count(2)
    assert await again.inner_text() == shown
    await slack.shot("history-home")


async def test_ira_asks_casey_for_2_more_and_casey_approves_the_order(slack: SlackPage) -> None:
    await slack.be("Ira")
    await slack.command("/licenses add 2")
    plan = await slack.modal_titled("Licenses")
    await plan.get_by_role("button", name="Ask my CSM").click()
    sent = await slack.modal_titled("Ask my CSM")
    found = re.search(r"\(reference (LR-\d+)\)", await sent.inner_text())
    assert found, await sent.inner_text()
    reference = found.group(1)
    await slack.close_modal()

    await slack.be("Casey")
    await slack.command("/licenses")
    queue = await slack.modal_titled("CSM queue")
    entry = queue.locator(".bk-section").filter(has_text=reference)
    await expect(entry).to_contain_text("Initech · Enterprise · 12 licenses")
    await expect(entry).to_contain_text(f"{reference} · add 2 (12 → 14) · asked by @Ira")
    await queue.get_by_role("button", name="Approve").last.click()
    decision = await slack.modal_titled("Approve request")
    await expect(decision.get_by_label("Licenses to add")).to_have_value("2")
    await expect(decision).to_contain_text("14 (12 + 2)")
    shown = amount(await decision.locator(".bk-field", has_text="Total Due Today").inner_text())
    await slack.shot("csm-approve-add-request")
    await decision.get_by_label("Note to the admin").fill("As agreed on our call.")
    await decision.get_by_test_id("modal-submit").click()
    done = await slack.modal_titled("Request approved")
    await expect(done.locator(".bk-field", has_text="Charged today")).to_contain_text(shown)
    await expect(done).to_contain_text("12 → 14")
    await slack.shot("csm-approved-add-request")
    await slack.modal.get_by_role("button", name="Close all").click()

    await slack.go("channel-csm-requests")
    post = slack.messages.get_by_test_id("message").filter(has_text=reference).last
    await expect(post).to_contain_text("Approved by @Casey")
    await expect(post.get_by_role("button", name="Approve")).to_have_count(0)

    await slack.be("Ira")
    await slack.go("nav-dm")
    await expect(slack.messages).to_contain_text(f"@Casey approved your request {reference}")
    await expect(slack.messages).to_contain_text("You added 2 licenses")
    await slack.go("nav-home")
    home = slack.page.get_by_test_id("home")
    await expect(home).to_contain_text(f"{reference}")
    await expect(home).to_contain_text("Approved by @Casey")
