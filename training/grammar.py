"""A small English grammar that asks about relation paths: the wording of synthesized training questions.

A path's steps are read with :mod:`kgagent.kg.schema` (what each relation is called, its grammatical kind, the
class and question word of its answers) and composed inside out: every step but the last becomes a noun phrase
around the one before ("the films directed by X", "X's director", "the ones who wrote X", "the films that share
actors with X"), the last becomes a question, an imperative or a bare phrase ("who directed …", "list the
genres of …", "…'s languages"). Each form belongs to a *family*; training can hold a family out to measure how
well a model carries over to wordings it never saw. Surface noise (lower case, no punctuation, "please") is
added on top.

>>> import numpy as np
>>> from kgagent.kg.schema import Schema, StepType, relation_name
>>> schema = Schema(names={"directed_by": relation_name("directed_by")},
...                 steps={"directed_by": StepType("who", ()), "directed_by^-1": StepType("what", ())})
>>> text, family = ask(("directed_by",), "[Alien]", schema, np.random.default_rng(0))
>>> "[Alien]" in text and "direct" in text
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kgagent.kg.graph import INVERSE, inverse_step
from kgagent.kg.schema import RelationName, Schema, StepType, is_person_noun, singular, verb_forms

GENERIC = ("things", "ones", "items", "entries")  # answers whose class has no name in the graph
FAMILIES = ("a", "b")  # two disjoint sets of forms: train on one, validate on the other when asked to
def _agent(base: str) -> str:
    """Who does it: direct -> director, write -> writer, create -> creator, produce -> producer."""
    if base.endswith("ate"):
        return base[:-1] + "or"
    if base.endswith(("ct", "it")):
        return base + "or"
    return base + ("r" if base.endswith("e") else "er")


def _deagent(agent: str) -> str:
    """The verb of an agent noun: actor -> act, director -> direct, writer -> write, creator -> create."""
    if agent.endswith("ator"):
        return agent[:-2] + "e"
    stem = agent[:-2] if agent.endswith(("or", "er")) else agent.removesuffix("ist")
    if stem.endswith(("c", "v", "z")) or (len(stem) > 2 and stem[-1] in "ts" and stem[-2] in "aeiou"
                                           and stem[-3] not in "aeiou"):
        stem += "e"  # producer -> produce, writer -> write, user -> use
    return stem


def _plural(noun: str) -> str:
    if not noun or noun.endswith("s"):
        return noun
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("sh", "ch", "x", "z")):
        return noun + "es"
    return noun + "s"


# participles of one-time events: "when was X released", "where was X born" (others: "what is X located in")
_EVENTS = {"born", "founded", "released", "made", "built", "published", "created", "established", "written",
           "launched", "formed", "discovered", "introduced", "produced", "signed", "elected", "awarded", "buried",
           "killed", "opened", "closed", "issued", "recorded", "filmed", "painted", "designed", "invented",
           "named", "started", "finished", "completed", "held", "won"}


def _third(base: str) -> str:
    """The third person singular of a verb's base form: power -> powers, fix -> fixes, carry -> carries."""
    first, _, rest = base.partition(" ")
    return " ".join(filter(None, [_plural(first), rest]))


class _Words:
    """The words one step of a path is said with. ``kind`` keys the form tables: the name's kind, except a passive
    whose agent is no person ("powered_by": "what powers X", not "who powered X") is ``agentless``."""

    def __init__(self, name: RelationName, answers: StepType, forward: bool, rng: np.random.Generator,
                 agent_is_thing: bool = False) -> None:
        self.name = name
        self.kind = "agentless" if name.kind == "passive" and agent_is_thing else name.kind
        self.noun = name.noun
        self.phrase = name.phrase
        self.verb = name.verb
        self.do = "did" if name.past else "does"
        core = [w for w in name.words if w not in ("has", "have", "is", "was", "are", "by")] or list(name.words)
        self.participle = " ".join(core)
        past, base = verb_forms(core[0])
        self.past = " ".join([past, *core[1:]])
        self.base = " ".join([base, *core[1:]])
        self.pres = _third(self.base)
        # after a plural subject: "which phones support X", "which actors acted in X"
        self.plural_verb = self.phrase if name.past else self.verb
        if name.kind == "verb" and name.obj:  # "offers_service": "which services does X offer"
            self.verb = self.verb.split()[0]
            self.phrase = self.phrase.split()[0]
            self.plural_verb = self.plural_verb.split()[0]
        if name.kind == "state":  # "located_in": "what is X located in", "where is X located"
            self.participle = name.noun
            self.phrase = f"{name.noun} {name.prep}"
        # how "sharing" the tail is said ("the phones released in the same year as X"); "" for nouns and passives
        self.same = {"state": self.phrase, "verb": f"that {self.plural_verb}",
                     "agentless": f"{self.participle} by"}.get(self.kind, "")
        event = bool(set(self.participle.split()) & _EVENTS) or answers.qword == "when"
        self.be, self.are = ("was", "were") if event else ("is", "are")
        if name.kind == "passive" and not agent_is_thing:  # directed_by: the director, the directors
            self.noun = _agent(base.split()[0])
        self.wh = "what" if self.kind == "agentless" else answers.qword
        # who does it, and the verb of doing it ("directed_by": director, direct; "starred_actors": actor, act
        # or star): relations that name an agent are asked about with it ("what was X the director of")
        self.agent, self.abase, self.apast = "", "", ""
        last = singular(self.noun.split()[-1]) if self.noun else ""
        if self.kind == "passive":
            self.agent, self.abase, self.apast = self.noun, base.split()[0], past.split()[0]
        elif name.kind == "noun" and is_person_noun(last):
            self.agent = last
            verb = core[0] if core[0].endswith("ed") and len(core) > 1 else ""  # "starred actors": star
            self.apast, self.abase = verb_forms(verb) if verb and rng.random() < 0.5 else \
                (_deagent(last) + "ed", _deagent(last))
        # the class of what this step reaches: named by the graph, or by the relation itself read forward
        # ("the directors", "the genres"), else a generic noun
        own = (self.noun,) if forward and self.kind in ("passive", "noun") else ()
        reached = answers.nouns or own
        self.things = _plural(reached[0] if reached and (own or rng.random() < 0.7)
                              else GENERIC[int(rng.integers(len(GENERIC)))])


# A form: (family, text with {x} for the inner phrase and fields of _Words). Forward reads the relation
# head -> tail, inverse tail -> head; the tables are keyed by the relation's kind.
Form = tuple[str, str]
QUESTIONS: dict[tuple[str, bool], tuple[Form, ...]] = {
    ("noun", True): (("a", "what is the {noun} of {x}"), ("b", "what {noun} does {x} have"),
                     ("a", "what is {x}'s {noun}"), ("b", "{x} has what {noun}"), ("a", "which {noun} is {x}'s"),
                     ("b", "tell me the {noun} of {x}"), ("a", "list the {things} of {x}"),
                     ("b", "what are the {things} of {x}"), ("a", "{x}'s {noun}"), ("b", "{noun} of {x}"),
                     ("a", "{wh} is the {noun} of {x}"), ("b", "give me {x}'s {noun}")),
    ("noun", False): (("a", "what has {noun} {x}"), ("b", "which {things} have {x} as their {noun}"),
                      ("a", "name {things} whose {noun} is {x}"), ("b", "{things} with {noun} {x}"),
                      ("a", "what {things} have the {noun} {x}"), ("b", "{x} is the {noun} of what"),
                      ("a", "list {things} with {x} as {noun}"), ("b", "which {things} has {x} as {noun}")),
    ("passive", True): (("a", "{wh} {past} {x}"), ("b", "by whom was {x} {participle}"),
                        ("a", "{x} was {participle} by {wh}"), ("b", "who is {x} {participle} by"),
                        ("a", "{wh} {past} {x}"), ("b", "tell me who {past} {x}"),
                        ("a", "name the person who {past} {x}"), ("b", "{x} {participle} by"),
                        ("a", "who was {x} {participle} by")),
    ("passive", False): (("a", "what did {x} {base}"), ("b", "which {things} were {participle} by {x}"),
                         ("a", "{things} {participle} by {x}"), ("b", "what has {x} {participle}"),
                         ("a", "list the {things} {x} {past}"), ("b", "what {things} did {x} {base}"),
                         ("a", "name {things} {participle} by {x}"), ("b", "{x} {past} which {things}")),
    ("of", True): (("a", "{x} is the {noun} of what"), ("b", "what is {x} the {noun} of"),
                   ("a", "{x} is {noun} of which {things}"), ("b", "of what is {x} the {noun}"),
                   ("a", "name the {things} {x} is the {noun} of")),
    ("of", False): (("a", "what is the {noun} of {x}"), ("b", "{x}'s {noun}"), ("a", "which {noun} does {x} have"),
                    ("b", "{wh} is {x}'s {noun}"), ("a", "list the {noun} of {x}"), ("b", "the {noun} of {x}")),
    ("verb", True): (("a", "what {do} {x} {verb}"), ("b", "{x} {phrase} what"), ("a", "which {things} {do} {x} {verb}"),
                     ("b", "list what {x} {phrase}"), ("a", "name the {things} that {x} {phrase}"),
                     ("b", "what {things} {do} {x} {verb}")),
    ("verb", False): (("a", "what {phrase} {x}"), ("b", "which {things} {plural_verb} {x}"), ("a", "{wh} {phrase} {x}"),
                      ("b", "list the {things} that {plural_verb} {x}"), ("a", "name what {phrase} {x}"),
                      ("b", "{things} that {plural_verb} {x}")),
    # X is located in Y: asking for Y, by "where"/"when" when the answers are places or times
    ("state", True): (("a", "what {be} {x} {phrase}"), ("b", "which {things} {be} {x} {phrase}"),
                      ("a", "{x} {be} {phrase} what"), ("b", "{x} {be} {phrase} which {things}"),
                      ("a", "list the {things} {x} {be} {phrase}"), ("b", "tell me what {x} {be} {phrase}"),
                      ("a", "what {things} {be} {x} {phrase}"), ("b", "name what {x} {be} {phrase}")),
    ("state_wh", True): (("a", "{wh} {be} {x} {participle}"), ("b", "{wh} {be} {x} {participle}"),
                         ("a", "tell me {wh} {x} {be} {participle}"), ("b", "{x} {be} {participle} {wh}"),
                         ("a", "what {be} {x} {phrase}"), ("b", "{x} {be} {phrase} what")),
    ("state", False): (("a", "what {be} {phrase} {x}"), ("b", "which {things} {are} {phrase} {x}"),
                       ("a", "{things} {phrase} {x}"), ("b", "list the {things} {phrase} {x}"),
                       ("a", "name what {be} {phrase} {x}"), ("b", "what {things} {are} {phrase} {x}")),
    # X is a Y: asking for the class, or (backwards) for the members of a class
    ("type", True): (("a", "what kind of thing is {x}"), ("b", "what type of thing is {x}"), ("a", "what is {x}"),
                     ("b", "{x} is what kind of thing"), ("a", "what category is {x} in"),
                     ("b", "tell me what type {x} is"), ("a", "which type is {x}"), ("b", "what sort of thing is {x}")),
    ("type", False): (("a", "which things are a {x}"), ("b", "list everything of type {x}"),
                      ("a", "name the items that are a {x}"), ("b", "what is of type {x}"), ("a", "which ones are {x}"),
                      ("b", "list all the {x} items")),
    # X is powered by Y, Y no person: "what powers X"
    ("agentless", True): (("a", "what {pres} {x}"), ("b", "which {things} {base} {x}"),
                          ("a", "what is {x} {participle} by"), ("b", "{x} is {participle} by what"),
                          ("a", "name the {things} that {base} {x}"), ("b", "what {past} {x}"),
                          ("a", "list what {pres} {x}"), ("b", "by what is {x} {participle}")),
    ("agentless", False): (("a", "what does {x} {base}"), ("b", "which {things} are {participle} by {x}"),
                           ("a", "{things} {participle} by {x}"), ("b", "what is {participle} by {x}"),
                           ("a", "list the {things} {x} {pres}"), ("b", "what {things} does {x} {base}")),
}
PHRASES: dict[tuple[str, bool], tuple[Form, ...]] = {
    ("noun", True): (("a", "the {noun} of {x}"), ("b", "{x}'s {noun}"), ("a", "the {things} of {x}")),
    ("noun", False): (("a", "the {things} whose {noun} is {x}"), ("b", "{things} with {noun} {x}"),
                      ("a", "the {things} that have {x} as {noun}")),
    ("passive", True): (("a", "the one who {past} {x}"), ("b", "whoever {past} {x}"),
                        ("a", "the {things} of {x}"), ("b", "the person who {past} {x}")),
    ("passive", False): (("a", "the {things} {participle} by {x}"), ("b", "{things} that {x} {past}"),
                         ("a", "the {things} {x} {past}")),
    ("of", True): (("a", "the {things} {x} is the {noun} of"), ("b", "what {x} is the {noun} of")),
    ("of", False): (("a", "the {noun} of {x}"), ("b", "{x}'s {noun}")),
    ("verb", True): (("a", "the {things} {x} {phrase}"), ("b", "what {x} {phrase}")),
    ("verb", False): (("a", "the {things} that {plural_verb} {x}"), ("b", "{things} which {plural_verb} {x}")),
    ("state", True): (("a", "the {things} {x} {be} {phrase}"), ("b", "what {x} {be} {phrase}")),
    ("state", False): (("a", "the {things} {phrase} {x}"), ("b", "{things} that {are} {phrase} {x}"),
                       ("a", "{things} {phrase} {x}")),
    ("type", True): (("a", "the type of {x}"), ("b", "the kind of thing {x} is"), ("a", "{x}'s type")),
    ("type", False): (("a", "the things that are a {x}"), ("b", "everything of type {x}"),
                      ("a", "the items of type {x}")),
    ("agentless", True): (("a", "the {things} that {base} {x}"), ("b", "what {pres} {x}"),
                          ("a", "the {things} {x} is {participle} by")),
    ("agentless", False): (("a", "the {things} {participle} by {x}"), ("b", "{things} that {x} {pres}"),
                           ("a", "what {x} {pres}")),
}
# two steps there and back through one relation: the things that share a director with X
SHARE: tuple[Form, ...] = (("a", "the {things} that share {noun} with {x}"),
                           ("b", "{things} with the same {noun} as {x}"),
                           ("a", "other {things} with {x}'s {noun}"), ("b", "the {things} sharing {noun} with {x}"))
# the same for relations said with a verb or a state: the phones released in the same year as X
SHARE_SAME: tuple[Form, ...] = (("a", "the {things} {same} the same {middle} as {x}"),
                                ("b", "other {things} {same} the same {middle} as {x}"))
SHARE_SAME_QUESTIONS: tuple[Form, ...] = (("a", "which {things} {same} the same {middle} as {x}"),
                                          ("b", "what else {same} the same {middle} as {x}"),
                                          ("a", "list the {things} {same} the same {middle} as {x}"),
                                          ("b", "name {things} {same} the same {middle} as {x}"))
SHARE_QUESTIONS: tuple[Form, ...] = (("a", "which {things} share {noun} with {x}"),
                                     ("b", "what has the same {noun} as {x}"),
                                     ("a", "{things} that share the {noun} of {x}"),
                                     ("b", "name {things} with the same {noun} as {x}"))
# relations that name an agent (a director, an actor): forward reaches the agents, backward their works
AGENT_QUESTIONS: dict[bool, tuple[Form, ...]] = {
    True: (("a", "who {apast} {x}"), ("b", "who {apast} in {x}"), ("a", "who was the {agent} of {x}"),
           ("b", "who were the {agent}s of {x}"), ("a", "{x} had which {agent}s"), ("b", "who is {x}'s {agent}")),
    False: (("a", "what was {x} the {agent} of"), ("b", "{x} was the {agent} of which {things}"),
            ("a", "what did {x} {abase} in"), ("b", "which {things} did {x} {abase}"),
            ("a", "which {things} had {x} as {agent}"), ("b", "{things} that {x} {apast} in"),
            ("a", "{x} {apast} in which {things}"), ("b", "what {things} did {x} {abase} in")),
}
AGENT_PHRASES: dict[bool, tuple[Form, ...]] = {
    True: (("a", "the {agent}s of {x}"), ("b", "whoever {apast} in {x}"), ("a", "the people who {apast} {x}")),
    False: (("a", "the {things} {x} was the {agent} of"), ("b", "the {things} {x} {apast} in"),
            ("a", "{things} with {x} as {agent}"), ("b", "the {things} that {x} {apast}")),
}
# two steps back and forth through an agent relation from an agent: the co-directors, the co-stars
CO_QUESTIONS: tuple[Form, ...] = (("a", "who {apast} with {x}"), ("b", "who {apast} together with {x}"),
                                  ("a", "who are {x}'s co-{agent}s"), ("b", "who worked with {x}"),
                                  ("a", "{x} {apast} together with who"), ("b", "which {agent}s worked with {x}"))
CO_PHRASES: tuple[Form, ...] = (("a", "the people who {apast} with {x}"), ("b", "{x}'s co-{agent}s"),
                                ("a", "those who worked with {x}"))
LEADS = ("", "", "", "please ", "can you tell me ", "i want to know ", "do you know ")


def _choose(forms: Sequence[Form], families: Sequence[str] | None, rng: np.random.Generator,
            simple: bool = True) -> Form:
    """A random form of the allowed families; a possessive ("{x}'s") only after a bare name."""
    pool = [f for f in forms if (families is None or f[0] in families) and (simple or "{x}'s" not in f[1])]
    pool = pool or [f for f in forms if simple or "{x}'s" not in f[1]] or list(forms)
    return pool[int(rng.integers(len(pool)))]


def _fill(form: str, w: _Words, x: str, middle: str = "") -> str:
    return form.format(x=x, noun=w.noun, things=w.things, wh=w.wh, phrase=w.phrase, verb=w.verb,
                       participle=w.participle, past=w.past, base=w.base, agent=w.agent, abase=w.abase,
                       apast=w.apast, do=w.do, plural_verb=w.plural_verb, be=w.be, are=w.are, pres=w.pres,
                       same=w.same, middle=middle)


def ask(path: Sequence[str], topic: str, schema: Schema, rng: np.random.Generator,
        families: Sequence[str] | None = None) -> tuple[str, str]:
    """A question asking for the end of ``path`` from ``topic`` (kept as written, e.g. ``"[Alien]"``), and the
    family of its outermost form. ``families`` restricts the forms to those families."""
    np_, family = topic, "a"
    i = 0
    while i < len(path):
        step = path[i]
        last = i == len(path) - 1
        # X r y, y r^-1 z: z shares y with X (read forward only: backwards it is "co-" something, not sharing)
        share = i + 1 < len(path) and path[i + 1] == inverse_step(step) and not step.endswith(INVERSE) \
            and rng.random() < 0.6
        w = _words(step if not share else path[i + 1], schema, rng)
        # X r^-1 y, y r z for an agent relation r: z worked with X (the co-directors of X)
        if not share and i + 1 < len(path) and path[i + 1] == inverse_step(step) and step.endswith(INVERSE) \
                and w.agent and rng.random() < 0.6:
            table = CO_QUESTIONS if i + 1 == len(path) - 1 else CO_PHRASES
            family, form = _choose(table, families, rng, simple=i == 0)
            np_ = _fill(form, w, np_)
            i += 2
            continue
        if share and w.same:
            table = SHARE_SAME_QUESTIONS if i + 1 == len(path) - 1 else SHARE_SAME
            family, form = _choose(table, families, rng, simple=i == 0)
            np_ = _fill(form, w, np_, _middle(schema.steps.get(step)))
            i += 2
            continue
        if share:
            table = SHARE_QUESTIONS if i + 1 == len(path) - 1 else SHARE
            family, form = _choose(table, families, rng, simple=i == 0)
            np_ = _fill(form, w, np_)
            i += 2
            continue
        forward = not step.endswith(INVERSE)
        if w.agent and rng.random() < 0.5:
            forms = (AGENT_QUESTIONS if last else AGENT_PHRASES)[forward]
        else:
            kind = "state_wh" if w.kind == "state" and last and forward and w.wh in ("where", "when") else w.kind
            forms = (QUESTIONS if last else PHRASES)[(kind, forward)]
        family, form = _choose(forms, families, rng, simple=i == 0)
        np_ = _fill(form, w, np_)
        i += 1
    return _surface(np_, rng), family


def _middle(shared: StepType | None) -> str:
    """What two things share through a relation, as a noun: its class ("chip"), else a year, a place, a thing."""
    if shared is None:
        return "thing"
    if shared.nouns:
        return singular(shared.nouns[0])
    if shared.qword == "who" and not shared.guessed:
        return "person"
    return {"when": "year" if shared.literal == "year" else "time", "where": "place"}.get(shared.qword, "thing")



def _words(step: str, schema: Schema, rng: np.random.Generator) -> _Words:
    rel = step.removesuffix(INVERSE)
    agent = schema.steps.get(rel)  # what the relation read forward reaches: for a passive, its agent
    return _Words(schema.say(rel, rng), schema.steps.get(step, StepType("what", ())), not step.endswith(INVERSE), rng,
                  agent_is_thing=agent is not None and agent.guessed)


def _surface(text: str, rng: np.random.Generator) -> str:
    """Ways people type: a lead-in, a question mark or none, lower case (the topic's case is kept)."""
    text = " ".join(text.split())
    lead = LEADS[int(rng.integers(len(LEADS)))]
    if lead and not text.startswith(("list", "name", "tell", "give")):
        text = lead + text
    if rng.random() < 0.5:
        text += "?"
    if rng.random() < 0.5 and text[:1] != "[":
        text = text[0].upper() + text[1:]
    return text
