"""``understand``: what the user wants (intent), what it is about (entity linking), and what it refers back to.

Follow-ups resolve against the thread's memory (``focus``): a pronoun or an elliptical question ("who directed
it?", "and what genre is that?", "what else did she star in?") gets the remembered entities as candidates, the
last answer first, then the last topic; ``reason`` keeps the first one the question makes sense for.
An ambiguous name (several entities close in score) becomes a set of options that ``reason`` narrows down or
turns into a clarifying question; the next turn's reply is matched here against those options (by number, name
or a distinguishing word) and the original question goes on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kgagent.agent.context import Context
from kgagent.agent.nodes.clarify import make_options, resolve_choice
from kgagent.agent.nodes.common import PRONOUN, entity_ref, has_pronoun, last_user_text, push_focus, replace_pronoun
from kgagent.agent.state import Act, Clarification, EntityRef, State, turn_reset
from kgagent.agent.workspace import AgentWorkspace

if TYPE_CHECKING:
    from kgagent.retrieval.linker import Mention
    from kgagent.training.intents_oos import IntentPrediction

_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about)\s+(?P<rest>.+?)\s*[?.!]*\s*$", re.I)


def understand(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    """Reset the turn's fields; set intent, act, topic entities, follow-up candidates and any ambiguity."""
    # the turn's first node reloads the workspace when its artifacts changed on disk (``kgagent kg add`` in another
    # process, a rebuild): a few stat calls; the later nodes of the turn share what it loaded
    if ws.changed:
        ws.reload()
    text = last_user_text(state.get("messages", []))
    focus = list(state.get("focus") or [])
    update: dict[str, Any] = {**turn_reset(), "turn": state.get("turn", 0) + 1, "question": text}

    pending = state.get("clarification")
    if pending:
        choice = resolve_choice(text, pending["options"], ws.kg)
        if choice is not None:
            chosen = entity_ref(choice, ws.kg.labels[choice], 1.0, pending["mention"], "clarified")
            entities = [chosen, *pending.get("others", [])]
            return {**update, "question": pending["question"], "intent": pending["intent"],
                    "intent_confidence": 1.0, "act": "question", "entities": entities,
                    "focus": push_focus(focus, entities, ctx.focus_size)}
        # the reply picks none of the options: treat it as a new turn

    # earlier topics (not answers: a colour or a year shared by hundreds of entities only adds noise) help the
    # linker choose between namesakes
    topics = [f["id"] for f in focus if f["source"] != "memory"][:3]
    linked = ws.linker.link(text, context=topics) if text else []
    # the intent model reads the same mentions (a KG-fused encoder adds their entity vectors): no second linking
    spans = [[(int(m.start), int(m.end), int(m.candidates[0].entity)) for m in linked if m.candidates]]
    pred = ws.intents.predict([text], mentions=spans)[0] if text else None
    intent = pred.intent if pred else "question"
    confidence = float(pred.confidence) if pred else 0.0
    update.update(intent=intent, intent_confidence=round(confidence, 4))

    mentions = [m for m in linked if m.candidates and m.candidates[0].score >= ctx.link_threshold]
    pronoun = has_pronoun(text)
    # a pronoun linked as a title ("It", "Her") is a reference back when the thread has something to refer to
    if focus and pronoun:
        mentions = [m for m in mentions if not PRONOUN.fullmatch(m.text.strip())]
    if mentions:  # the question is about its best mention; weaker ones stay only when nearly as good
        best = max(m.candidates[0].score for m in mentions)
        mentions = [m for m in mentions if m.candidates[0].score >= ctx.mention_ratio * best]
    ambiguous = next((m for m in mentions if _is_ambiguous(m, ctx)), None)
    entities = [entity_ref(m.candidates[0].entity, ws.kg.labels[m.candidates[0].entity], m.candidates[0].score,
                           m.text) for m in mentions if m is not ambiguous]
    followups: list[EntityRef] = []
    elliptical = _ELLIPSIS.match(text) is not None
    if focus and (pronoun or (not entities and (elliptical or _asks_kg(ws, ctx, pred)))):
        followups = [EntityRef(**{**f, "source": "memory"}) for f in focus
                     if not ws.kg.literal[f["id"]]][: ctx.followup_candidates]
    question = _elliptical(text, entities, state) or text
    if pred is not None and followups and pronoun and ws.has_intent_model and _is_oos(pred, ctx):
        # "which colours is it available in?" may look out of scope until "it" is resolved: ask again
        again = ws.intents.predict([replace_pronoun(text, followups[0]["label"])])[0]
        if not _is_oos(again, ctx):
            pred = again
            update.update(intent=again.intent, intent_confidence=round(float(again.confidence), 4))

    act = _act(ws, ctx, pred, bool(entities or followups or ambiguous), bool(entities or ambiguous))
    update.update(act=act, question=question, entities=entities, followups=followups)
    if act == "question" and ambiguous is not None:
        # several entities fit the name: ``reason`` keeps the one the question makes sense for, or asks
        top = ambiguous.candidates[0].score
        close = [c.entity for c in ambiguous.candidates if top - c.score <= ctx.ambiguity_margin]
        options = make_options(ws.kg, list(dict.fromkeys(close)))
        update["clarification"] = Clarification(question=question, mention=ambiguous.text, intent=intent,
                                                options=options, others=entities)
    if entities:
        update["focus"] = push_focus(focus, entities, ctx.focus_size)
    return update


def _asks_kg(ws: AgentWorkspace, ctx: Context, pred: IntentPrediction | None) -> bool:
    """The intent model is confident this is a KG question (not small talk, handoff or out of scope)."""
    if pred is None or not ws.has_intent_model or pred.confidence < ctx.intent_threshold:
        return False
    return not pred.out_of_scope and pred.intent not in (
        *ctx.smalltalk_intents, *ctx.handoff_intents, *ctx.out_of_scope_intents)


def _is_ambiguous(mention: Mention, ctx: Context) -> bool:
    """Several different entities score close to the best one (the linker's own verdict, within our margin)."""
    if not mention.ambiguous or len(mention.candidates) < 2:
        return False
    top = mention.candidates[0].score
    return len({c.entity for c in mention.candidates if top - c.score <= ctx.ambiguity_margin}) > 1


def _is_oos(pred: IntentPrediction, ctx: Context) -> bool:
    return pred.out_of_scope or pred.intent in ctx.out_of_scope_intents


def _act(ws: AgentWorkspace, ctx: Context, pred: IntentPrediction | None, has_topic: bool, has_linked: bool) -> Act:
    """The dialogue act: small talk, handoff, out of scope, or a KG question.

    The intent model has already applied its own calibrated out-of-scope threshold, so its label stands; only
    when the message also names an entity does an unsure (below ``intent_threshold``) label yield to the entity.
    """
    if pred is None:
        return "out_of_scope"
    stands = pred.confidence >= ctx.intent_threshold or not has_linked
    if pred.intent in ctx.handoff_intents and stands:
        return "handoff"
    if pred.intent in ctx.smalltalk_intents and stands:
        return "smalltalk"
    oos = _is_oos(pred, ctx)
    if ws.has_intent_model and oos and stands:
        return "out_of_scope"
    if has_topic:
        return "question"
    # a question without any entity: ask for the entity (a model said it is in scope) or decline (no model)
    return "question" if ws.has_intent_model and not oos else "out_of_scope"


def _elliptical(text: str, entities: list[EntityRef], state: State) -> str | None:
    """``"what about Aliens?"`` after ``"who directed Alien?"`` -> ``"who directed Aliens?"``."""
    m = _ELLIPSIS.match(text)
    prev_q, prev_e = state.get("question"), state.get("entities") or []
    if not (m and entities and prev_q and prev_e):
        return None
    rest = m.group("rest")
    mention = entities[0]["mention"]
    if len(mention) < 0.6 * len(rest):  # more than a name follows "and": a full question of its own
        return None
    old = prev_e[0]["mention"] or prev_e[0]["label"]
    pattern = re.compile(re.escape(old), re.I)
    return pattern.sub(mention, prev_q, count=1) if pattern.search(prev_q) else None
