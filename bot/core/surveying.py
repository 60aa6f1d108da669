"""The residents' satisfaction survey (群众满意度测评), at the end of a phase or of the
campaign.

:func:`send` (the office's ``/survey [phase]``) queues, through the outbox and so the flood
limiter, one message to every resident who submitted through the bot (in that phase, if
one is named), named or anonymous (through the item's encrypted route), each once per
round: the questions of ``[survey]``, each answered with one tap. :func:`answer` counts a
tap once per person and question. What is kept: the person's survey tag for the round
(that they were sent it, which questions they answered) and the answers as counts apart
from it, so no answer can be traced to a person or to their items.
"""

from __future__ import annotations

import logging

from bot.core import cards
from bot.core.access import Action, Actor, permitted, system
from bot.core.deadlines import end_of
from bot.core.env import Env
from bot.core.records import RATINGS, Outgoing, Recipient
from bot.core.results import Refusal, Result, refused
from bot.i18n import resolve_language, t, tn
from bot.text import escape

log = logging.getLogger(__name__)

CAMPAIGN = "campaign"  # the round at the end of the whole campaign
ANSWERS = {"s": "satisfied", "b": "basically", "u": "unsatisfied"}
CODES = {answer: code for code, answer in ANSWERS.items()}


def survey_message(env: Env, round_id: str, chat_id: int, language: str) -> Outgoing:
    lang = resolve_language(language)
    settings = env.settings
    phase = settings.campaign.phase(round_id)
    name = phase.name(lang) if phase is not None else settings.campaign.name
    lines = [t(lang, "survey.intro", name=escape(name))]
    buttons = []
    for i, question in enumerate(settings.survey.questions, start=1):
        lines.append(f"{i}. {escape(question.name(lang))}")
        buttons.append(
            tuple(
                (f"{i}. {t(lang, f'rating.{r}')}", f"svy:{round_id}:{question.id}:{CODES[r]}")
                for r in RATINGS
            )
        )
    return Outgoing(
        chat_enc=env.secrets.encrypt_int(chat_id),
        text="\n".join(lines),
        buttons=tuple(buttons),
        recipient=Recipient.SENDER,
    )


async def send(env: Env, actor: Actor, phase_id: str | None, *, automatic: bool = False) -> Result:
    """Queue the survey for everyone who submitted (in that phase), once per round.
    ``automatic``: the system at the phase's end, once (the office is told in the same
    transaction); a second time queues nothing."""
    lang = actor.language
    if not permitted(actor, Action.SURVEY):
        return refused(Refusal.FORBIDDEN, t(lang, "button.stale"))
    if phase_id is not None and env.settings.campaign.phase(phase_id) is None:
        phases = " ".join(p.id for p in env.settings.campaign.phases) or "—"
        return refused(Refusal.INVALID, t(lang, "survey.usage", phases=phases))
    round_id = phase_id or CAMPAIGN
    surveys = [
        (env.secrets.survey_tag(chat, round_id), survey_message(env, round_id, chat, language))
        for chat, language in await env.repository.survey_chats(phase_id)
    ]
    office: list[Outgoing] = []
    phase = env.settings.campaign.phase(round_id)
    if automatic and phase is not None:
        # Told to the office with the count of the new round (known only in the transaction:
        # the line says how many were asked, each once).
        office = cards.office_notice(
            env.settings,
            env.secrets,
            "survey.auto_sent",
            phase=escape(phase.name(resolve_language(env.settings.campaign.language))),
            n=str(len(surveys)),
        )
    sent = await env.repository.send_survey(round_id, surveys, automatic=automatic, office=office)
    if sent is None:
        return refused(Refusal.INVALID, t(lang, "survey.auto_already"))
    log.info("survey %s queued for %d residents", round_id, len(sent))
    already = len(surveys) - len(sent)
    return Result(
        ok=True,
        message=tn(lang, "survey.sent", len(sent), n=len(sent), already=already),
        notices=(*sent, *office),
    )


async def send_ended_phases(env: Env) -> list[str]:
    """The scheduled job: the survey of each phase that says ``survey = true`` and has
    ended (its last day is over, campaign time), sent once; the rounds sent now."""
    now = env.now()
    done = await env.repository.automatic_surveys()
    actor = system(env.settings.campaign.language)
    sent = []
    for phase in env.settings.campaign.phases:
        if not phase.survey or phase.id in done:
            continue
        if now <= end_of(phase.end, env.settings.campaign.tz):
            continue
        result = await send(env, actor, phase.id, automatic=True)
        if result.ok:
            sent.append(phase.id)
    return sent


async def answer(env: Env, actor: Actor, round_id: str, question: str, code: str) -> Result:
    """One tap of a survey: counted once per person and question."""
    lang = actor.language
    questions = {q.id for q in env.settings.survey.questions}
    if (
        not permitted(actor, Action.SURVEY_ANSWER)
        or actor.user_id is None
        or question not in questions
        or code not in ANSWERS
    ):
        return refused(Refusal.FORBIDDEN, t(lang, "button.stale"))
    tag = env.secrets.survey_tag(actor.user_id, round_id)
    counted = await env.repository.answer_survey(round_id, tag, question, ANSWERS[code])
    key = "survey.thanks" if counted else "survey.already"
    return Result(ok=counted, message=t(lang, key), refusal=None if counted else Refusal.INVALID)
