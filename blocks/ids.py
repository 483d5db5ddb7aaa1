"""Every callback_id, block_id and action_id, shared by the builders and the handlers."""

from __future__ import annotations

from enum import StrEnum


class Callback(StrEnum):
    PLAN = "plan_modal"
    ADD = "add_licenses"
    INFO = "info_modal"
    CSM_QUEUE = "csm_queue"
    ADD_DECISION = "add_request_decision"


class Block(StrEnum):
    ADD_COUNT = "add_count"
    QUOTE = "quote"
    PLAN_ACTIONS = "plan_actions"
    HOME_ACTIONS = "home_actions"
    ROUTE_ACTIONS = "route_actions"
    DECISION_COUNT = "add_decision_count"
    DECISION_NOTE = "add_decision_note"
    ADD_REQUEST_DECISION = "add_request_decision"


class Action(StrEnum):
    ADD_COUNT = "add_count_input"
    OPEN_ADD = "open_add"
    OPEN_HISTORY = "open_history"
    HISTORY_NEWER = "history_newer"
    HISTORY_OLDER = "history_older"
    REQUEST_REMOVAL = "request_removal"
    CONTACT_SUPPORT = "contact_support"
    ASK_CSM = "ask_csm"
    CONTACT_SALES = "contact_sales"
    ASK_ADMINS = "ask_admins"
    ANSWER_ADMIN_REQUEST = "answer_admin_request"
    DECISION_COUNT = "add_decision_count_input"
    DECISION_NOTE = "add_decision_note_input"
    # Followed by ":approve" or ":deny".
    DECIDE_ADD_REQUEST = "add_request_decide"


class RemovalCallback(StrEnum):
    REQUEST = "removal_request"
    DECISION = "removal_decision"


class RemovalBlock(StrEnum):
    COUNT = "removal_count"
    PROBLEM = "removal_problem"
    REASON = "removal_reason"
    TIMING = "removal_timing"
    EFFECTIVE = "removal_effective"
    NOTE = "removal_note"
    DECISION = "removal_decision"


class RemovalAction(StrEnum):
    COUNT = "removal_count_input"
    REASON = "removal_reason_input"
    TIMING = "removal_timing_input"
    EFFECTIVE = "removal_effective_input"
    NOTE = "removal_note_input"
    DECIDE = "removal_decide"
