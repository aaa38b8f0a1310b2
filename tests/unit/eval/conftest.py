"""Fixtures of the eval tests: tiny data, a fake LangChain model the chain drives, fake chains.

* ``make_results``: a small results dictionary as ``run_evaluation`` writes it.
* ``use_llm`` / ``fake_llm``: the model every chain of :func:`~bridgex_chain.eval.evaluate.
  default_chain_maker` is built on (``evaluate._llm`` patched), so eval runs the real
  ``BridgeXChain`` on a model whose answers are known.
* ``make_chain``: ``default_chain_maker`` for a config and table (on that model).
* ``recording_chains``: a chain maker whose chains are fakes recording every ``batch`` call.
* ``fake_table``, ``write_sib``, ``sib_rows``, ``eval_config``, ``entry_of``, ``bridge_scores``,
  ``evaluate_task``: SIB-200-style data, a bridge table and one task run end to end.

The fake model (:class:`FakeLLM`, completion style) reads the prompt shapes of
``bridgex_chain/prompting/templates/*.json``:

* a prompt ending in ``Name:`` whose previous line is ``Other: text`` (rendering a text into the
  bridge, or translating a sentence) is answered by looking ``(Name, text)`` up in
  :data:`TRANSLATIONS` (``xyz`` when absent);
* a word prompt ``S:"w"→B:"`` / ``S:"w"→B:"w_B"→T:"`` by looking up ``(T, last word)``
  (``???`` when absent);
* a classify prompt (``…Label:``) with the first label (in label order) that occurs in the query
  lines, else the first label;
* a reading prompt (``…Answer:``) with the letter of the first option whose text occurs in the
  passage, else ``A``.

It honours stop strings and records every prompt (``prompts``) and batch size (``batches``).
:class:`ScoringFakeLLM` can also ``score_choices`` like ``LocalHFLLM``: a choice scores 0 when
mentioned (as above), -3 otherwise, plus a per-choice bias (``travel`` -4, letters B-D -1), so
only *calibrated* scores (the content-free prompt removes the bias) pick what generation picks.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.messages import AIMessage
from langchain_core.outputs import Generation, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import Field

from bridgex_chain.eval import evaluate
from bridgex_chain.eval.evaluate import EvalConfig, default_chain_maker, run_evaluation
from bridgex_chain.eval.runner import Arm, ChainMaker
from bridgex_chain.models import model_key
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow

# --------------------------------------------------------------------------- results.json


def _iv(score: float, **extra: Any) -> dict[str, Any]:
    return {"score": score, "low": score - 10.0, "high": score + 10.0, "n": 4, **extra}


def _route(bridged: int, **fallbacks: int) -> dict[str, Any]:
    return {"missing": 0, "errors": 0, "bridged": bridged, "fallbacks": fallbacks}


def _paired(diff: float, p: float) -> dict[str, Any]:
    return {
        "diff": diff,
        "p_value": p,
        "test": "mcnemar-exact",
        "n": 4,
        "wins": 1,
        "losses": 0,
        "significant": p < 0.05,
    }


def _entry(src: str, fra: float, eng: float, *, pending: bool = False) -> dict[str, Any]:
    bridges = {"eng_Latn": _iv(eng, **_route(4)), "fra_Latn": _iv(fra, **_route(4))}
    best = "fra_Latn" if fra >= eng else "eng_Latn"
    conditions: dict[str, Any] = {
        "english": {
            "bridge": "eng_Latn",
            **bridges["eng_Latn"],
            "vs_direct": _paired(eng - 50, 0.5),
        }
    }
    if not pending:
        table = {"bridge": "fra_Latn", **bridges["fra_Latn"], "vs_direct": _paired(fra - 50, 0.01)}
        conditions["table"] = table
        conditions["detected"] = {
            **table,
            **_route(3, unknown_language=1),
            "bridge": None,
        }
    rendering = {
        "conditions": conditions,
        "bridges": bridges,
        "oracle_bridge": best,
        "oracle_bridges": [best],
        "table_rank": None if pending else (1 if best == "fra_Latn" else 2),
        "spearman": None,
        "spearman_interval": None,
    }
    return {
        "task": "classify",
        "metric": "accuracy",
        "src": src,
        "trg": src,
        "n": 4,
        "candidates": ["eng_Latn", "fra_Latn"],
        "direct": _iv(50.0, **_route(0, no_bridge=4)),
        "table": {
            "best": None if pending else "fra_Latn",
            "hsic": {} if pending else {"eng_Latn": 0.2, "fra_Latn": 0.4},
            "layers": {} if pending else {
                "eng_Latn": {"0": 0.1, "1": 0.3},
                "fra_Latn": {"0": 0.2, "1": 0.6},
            },
            "run_id": None if pending else 1,
            "pending": "no bridge-table entry" if pending else None,
        },
        "unavailable": {"table": "pending: no bridge-table entry"} if pending else {},
        "renderings": {"self": rendering, "oracle": rendering},
    }  # fmt: skip


def _results() -> dict[str, Any]:
    entries = [_entry("swh_Latn", 75.0, 60.0), _entry("yor_Latn", 40.0, 55.0, pending=True)]
    pooled_rendering = {
        "conditions": {
            "english": _iv(57.5, entries=2, bridge=None, vs_direct=_paired(7.5, 0.4)),
            "oracle": _iv(65.0, entries=2, bridge=None, vs_direct=_paired(15.0, 0.03)),
        },
        "bridges": {},
        "mean_table_rank": 1.0,
        "mean_spearman": None,
    }
    pooled = {
        "task": "classify",
        "metric": "accuracy",
        "src": "pooled",
        "trg": "pooled",
        "n": 8,
        "entries": 2,
        "direct": _iv(50.0, entries=2),
        "renderings": {"self": pooled_rendering, "oracle": pooled_rendering},
    }
    return {
        "format": 2,
        "model": "demo/model",
        "command": "bridgex-chain eval classify --model demo/model",
        "config": {
            "tasks": ["classify"],
            "limit": 4,
            "seed": 0,
            "conditions": ["direct", "english", "table", "detected", "all"],
            "renderings": ["self", "oracle"],
            "bridges": ["eng_Latn", "fra_Latn"],
        },
        "entries": entries,
        "pooled": [pooled],
    }


@pytest.fixture
def make_results() -> Callable[[], dict[str, Any]]:
    """``make() -> results``: a fresh copy each call (two classify entries, yor_Latn pending).

    swh_Latn: direct 50, english 60 (p=0.5), table/detected 75 via fra (p=0.01; detected: one
    item went direct, ``unknown_language``); yor_Latn has no table entry.
    """
    return _results


# --------------------------------------------------------------------------- data

#: id -> (category, {language: text}); parallel rows, as SIB-200 has them. No Swahili or Yoruba
#: text names a label; English names it in rows 1 and 3, French in every row, German never.
SIB: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("sports", {
        "swh_Latn": "Timu ya taifa ilishinda mechi jana usiku.",
        "yor_Latn": "Ẹgbẹ́ orílẹ̀-èdè wa borí ìdíje náà lánàá.",
        "eng_Latn": "The national team won the sports match last night.",
        "fra_Latn": "L'équipe nationale a gagné le match de sports hier soir.",
        "deu_Latn": "Die Nationalmannschaft hat gestern Abend gewonnen.",
    }),
    "2": ("sports", {
        "swh_Latn": "Mchezaji huyo alifunga mabao mawili uwanjani.",
        "yor_Latn": "Agbábọ́ọ̀lù náà gba bọ́ọ̀lù méjì wọlé.",
        "eng_Latn": "The player scored two goals in the stadium.",
        "fra_Latn": "Le joueur a marqué deux buts, un exploit de sports.",
        "deu_Latn": "Der Spieler schoss zwei Tore im Stadion.",
    }),
    "3": ("travel", {
        "swh_Latn": "Tulisafiri kwa ndege hadi Zanzibar mwezi uliopita.",
        "yor_Latn": "A fi ọkọ̀ òfurufú lọ sí ìlú Èkó ní oṣù tó kọjá.",
        "eng_Latn": "We flew to Zanzibar on a travel holiday last month.",
        "fra_Latn": "Nous sommes allés à Zanzibar en avion, un beau travel.",
        "deu_Latn": "Wir sind letzten Monat nach Sansibar geflogen.",
    }),
    "4": ("travel", {
        "swh_Latn": "Hoteli ile ina fukwe nzuri kwa watalii wengi.",
        "yor_Latn": "Ilé ìtura yẹn ní etíkun tó lẹ́wà fún àwọn arìnrìn-àjò.",
        "eng_Latn": "That hotel has beautiful beaches for many tourists.",
        "fra_Latn": "Cet hôtel a de belles plages, idéal pour le travel.",
        "deu_Latn": "Das Hotel hat schöne Strände für viele Touristen.",
    }),
}  # fmt: skip

#: The train split: the chain's demonstration pool.
TRAIN: dict[str, tuple[str, dict[str, str]]] = {
    "10": ("sports", {
        "swh_Latn": "Mchezo wa mpira wa miguu ulikuwa mzuri sana.",
        "yor_Latn": "Eré bọ́ọ̀lù náà dára gan-an.",
        "eng_Latn": "The football game was very good.",
        "fra_Latn": "Le match de football était très bon.",
        "deu_Latn": "Das Fußballspiel war sehr gut.",
    }),
    "11": ("travel", {
        "swh_Latn": "Tulilala katika hoteli karibu na bahari.",
        "yor_Latn": "A sùn ní ilé ìtura kan nítòsí òkun.",
        "eng_Latn": "We slept in a hotel near the sea.",
        "fra_Latn": "Nous avons dormi dans un hôtel près de la mer.",
        "deu_Latn": "Wir schliefen in einem Hotel am Meer.",
    }),
}  # fmt: skip

LANGS = ("swh_Latn", "yor_Latn", "eng_Latn", "fra_Latn", "deu_Latn")


def _text(row: str, lang: str) -> str:
    return SIB[row][1][lang]


#: What the fake model writes: (language name asked for, text shown) -> its text.
TRANSLATIONS: dict[tuple[str, str], str] = {
    # Swahili rendered in French (rows 1 and 3 name their label, rows 2 and 4 do not)
    ("French", _text("1", "swh_Latn")): "L'équipe a gagné le match de sports.",
    ("French", _text("2", "swh_Latn")): "Le joueur a marqué deux buts.",
    ("French", _text("3", "swh_Latn")): "Nous avons pris l'avion, un travel.",
    ("French", _text("4", "swh_Latn")): "L'hôtel a de belles plages.",
    # Yoruba rendered in French: every row names its label
    ("French", _text("1", "yor_Latn")): "Notre équipe a gagné, un grand jour de sports.",
    ("French", _text("2", "yor_Latn")): "Le joueur a marqué deux buts de sports.",
    ("French", _text("3", "yor_Latn")): "Nous sommes allés à Lagos en avion, un travel.",
    ("French", _text("4", "yor_Latn")): "Cet hôtel est beau pour le travel.",
    # French (model's or gold) translated into English
    ("English", "L'équipe a gagné le match de sports."): "The team won the sports match.",
    ("English", "Nous avons pris l'avion, un travel."): "We took the plane, a travel.",
    ("English", _text("1", "fra_Latn")): "The national team won the sports match yesterday.",
    ("English", _text("3", "fra_Latn")): "We went to Zanzibar by plane, a travel.",
    # BLI words (the tests write the MUSE files)
    ("English", "maji"): "wet",
    ("English", "moto"): "Fire",
    ("English", "eau"): "Water",
    ("English", "feu"): "flame",
    ("French", "maji"): "eau",
    ("French", "moto"): "fuego",
    # Belebele passages (the tests write the files)
    ("French", "Anga ni buluu."): "Le ciel est blue.",
}


def _write_split(root: Path, split: str, rows: Mapping[str, tuple[str, dict[str, str]]]) -> None:
    for code in LANGS:
        (root / code).mkdir(parents=True, exist_ok=True)
        lines = ["index_id\tcategory\ttext"]
        lines += [f"{i}\t{label}\t{texts[code]}" for i, (label, texts) in rows.items()]
        (root / code / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_sib(root: Path) -> Path:
    _write_split(root, "test", SIB)
    _write_split(root, "train", TRAIN)
    return root


# --------------------------------------------------------------------------- the fake model


class Killed(BaseException):
    """What :class:`FakeLLM` raises after ``fail_after`` prompts: the run is interrupted."""


BIAS = {"sports": 0.0, "travel": -4.0, "A": 0.0, "B": -1.0, "C": -1.0, "D": -1.0}
_LABELS = re.compile(r"one of these labels: (.*)\.\n")
_PASSAGE = re.compile(r"Passage: (.*?)\n\nQuestion:", re.S)
_OPTION = re.compile(r"^([A-Z])\. (.*)$", re.M)


def _options(prompt: str) -> dict[str, str]:
    return {str(letter): str(text) for letter, text in _OPTION.findall(prompt)}


def _mentions(prompt: str, choices: Sequence[str]) -> list[bool]:
    """Whether each choice is mentioned: an option letter's text in the passage, else a label
    in the query lines (the prompt's last block)."""
    found = _PASSAGE.search(prompt)
    if found is not None:
        options = _options(prompt)
        return [options.get(c, "\0") in found.group(1) for c in choices]
    block = prompt.rsplit("\n\n", 1)[-1]
    return [c in block for c in choices]


def respond(prompt: str) -> str:
    """The fake model's raw completion of ``prompt`` (see the module docstring)."""
    if prompt.endswith(':"'):  # word prompts: S:"w"→B:"  or  S:"w"→B:"w_B"→T:"
        words: list[tuple[str, str]] = re.findall(r'(\w+):"([^"]*)"', prompt)
        asked = prompt.rsplit("→", 1)[1][:-2]
        return TRANSLATIONS.get((asked, words[-1][1]), "???") + '" and more'
    if prompt.endswith("Label:"):
        found = _LABELS.search(prompt)
        labels: list[str] = str(found.group(1)).split(", ") if found else []
        hits = [label for label, hit in zip(labels, _mentions(prompt, labels), strict=True) if hit]
        return " " + (hits or labels)[0] + "\nText: more"
    if prompt.endswith("Answer:"):
        letters = list(_options(prompt))
        hits = [c for c, hit in zip(letters, _mentions(prompt, letters), strict=True) if hit]
        return " " + (hits or ["A"])[0] + "\nQuestion: more"
    lines = prompt.split("\n")
    asked, text = lines[-1].rstrip(":"), lines[-2].split(": ", 1)[1]
    return " " + TRANSLATIONS.get((asked, text), "xyz") + "\nnext line"


def _cut(text: str, stop: Sequence[str] | None) -> str:
    cuts = [text.find(s) for s in stop or () if s in text]
    return text[: min(cuts)] if cuts else text


class FakeLLM(BaseLLM):
    """A completion model with known answers (see the module docstring).

    Attributes:
        prompts: Every prompt generated for, in order.
        batches: The size of every ``_generate`` call.
        fail_after: Raise :class:`Killed` once this many prompts were answered.
        fail_on: Raise ``RuntimeError`` for a prompt containing this text.
    """

    prompts: list[str] = Field(default_factory=list)
    batches: list[int] = Field(default_factory=list)
    fail_after: int | None = None
    fail_on: str | None = None

    @property
    def _llm_type(self) -> str:
        return "bridgex-eval-fake"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        self.batches.append(len(prompts))
        generations = []
        for prompt in prompts:
            if self.fail_after is not None and len(self.prompts) >= self.fail_after:
                raise Killed("killed")
            if self.fail_on is not None and self.fail_on in prompt:
                raise RuntimeError("the model failed")
            self.prompts.append(prompt)
            generations.append([Generation(text=_cut(respond(prompt), stop))])
        return LLMResult(generations=generations)


class ScoringFakeLLM(FakeLLM):
    """:class:`FakeLLM` that also scores choices (the chain then picks by log-likelihood).

    Attributes:
        scored: ``(prompt, choices, content_free)`` of every scoring call.
    """

    scored: list[tuple[str, tuple[str, ...], str | None]] = Field(default_factory=list)

    def score_choices(
        self, prompt: str, choices: Sequence[str], *, content_free: str | None = None
    ) -> list[float]:
        """Mentioned 0, else -3, plus the choice's bias; minus the content-free scores."""
        self.scored.append((prompt, tuple(choices), content_free))

        def raw(text: str) -> list[float]:
            hits = _mentions(text, choices)
            return [
                (0.0 if hit else -3.0) + BIAS.get(c, 0.0)
                for c, hit in zip(choices, hits, strict=True)
            ]

        scores = raw(prompt)
        if content_free is None:
            return scores
        return [s - f for s, f in zip(scores, raw(content_free), strict=True)]


# --------------------------------------------------------------------------- the table


class FakeTable:
    """A bridge table: French best (0.5), English (0.3), German (0.1); layer l scores s * l."""

    hsic: ClassVar[dict[str, float]] = {"eng_Latn": 0.3, "fra_Latn": 0.5, "deu_Latn": 0.1}

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        return Bridge(model, src, trg or src, "fra_Latn", 0.5, 0.2, run_id=1)

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]:
        ordered = sorted(self.hsic.items(), key=lambda kv: -kv[1])
        return [RankedBridge(b, s, i + 1, 3) for i, (b, s) in enumerate(ordered)]

    def scores(self, run_id: int) -> list[ScoreRow]:
        return [
            ScoreRow(src, src, b, layer, s * layer)
            for src in ("swh_Latn", "yor_Latn")
            for b, s in self.hsic.items()
            for layer in range(3)
        ]


# --------------------------------------------------------------------------- fake chains


def fake_choice(arm: Arm, request: Mapping[str, Any]) -> int:
    """The choice a :class:`RecordingChain` makes: a hash of the arm and the query."""
    choices = request.get("labels") or request.get("options") or ["-"]
    return zlib.crc32(f"{arm.name}|{request['query']}".encode()) % len(choices)


class RecordingChain(Runnable[Any, AIMessage]):
    """A stand-in for one arm's chain: records every ``batch`` call, answers by a rule.

    Scored requests (labels or options) get the choice :func:`fake_choice` makes, generation
    requests the text ``"<arm> <query>"``; the reply's ``bridgex`` metadata names the route.
    ``fail_on``: a query for which the chain returns (or raises) an exception.
    """

    def __init__(
        self,
        arm: Arm,
        renderings: Mapping[tuple[str, str], str] | None,
        *,
        fail_on: str | None = None,
    ) -> None:
        self.arm = arm
        self.renderings = None if renderings is None else dict(renderings)
        self.fail_on = fail_on
        self.calls: list[tuple[list[Any], Any, bool]] = []
        self.replies: list[AIMessage | Exception] = []

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AIMessage:
        if self.fail_on is not None and input["query"] == self.fail_on:
            raise RuntimeError(f"cannot answer {self.fail_on!r}")
        bridge = {"direct": None, "table": "fra_Latn", "detected": "fra_Latn"}.get(
            self.arm.rendering, self.arm.bridge
        )
        meta: dict[str, Any] = {
            "lang": input.get("lang", "swh_Latn"),
            "bridge": bridge,
            "fallback": "no_bridge" if bridge is None else None,
        }
        if self.renderings:
            meta["renders_given"] = 1
        choices = input.get("labels") or input.get("options")
        if not choices:
            return AIMessage(
                f"{self.arm.name} {input['query']}", response_metadata={"bridgex": meta}
            )
        index = fake_choice(self.arm, input)
        meta.update(choice=choices[index], choice_index=index)
        return AIMessage(choices[index], response_metadata={"bridgex": meta})

    def batch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        self.calls.append((list(inputs), config, return_exceptions))
        out: list[Any] = []
        for x in inputs:
            try:
                out.append(self.invoke(x))
            except Exception as err:
                if not return_exceptions:
                    raise
                out.append(err)
        self.replies += out
        return out

    def inputs(self) -> list[Any]:
        """Every input of every ``batch`` call, in order."""
        return [x for inputs, _, _ in self.calls for x in inputs]


class RecordingMaker:
    """A chain maker (``make_chain()`` of ``run_evaluation``) building :class:`RecordingChain`s.

    Attributes:
        chains: The chain of every arm built, by ``(task src-trg, arm name)`` order of building.
        made: How often ``make_chain`` was called (it loads the model in the real one).
    """

    def __init__(self, *, fail_on: str | None = None) -> None:
        self.fail_on = fail_on
        self.chains: list[RecordingChain] = []
        self.made = 0

    def __call__(self) -> ChainMaker:
        self.made += 1

        def chain_for(arm: Arm, renderings: Mapping[tuple[str, str], str] | None) -> Any:
            chain = RecordingChain(arm, renderings, fail_on=self.fail_on)
            self.chains.append(chain)
            return chain

        return chain_for

    def by_arm(self) -> dict[str, list[RecordingChain]]:
        """The chains built, grouped by arm name (one per entry that has the arm)."""
        found: dict[str, list[RecordingChain]] = {}
        for chain in self.chains:
            found.setdefault(chain.arm.name, []).append(chain)
        return found


@pytest.fixture
def recording_chains() -> Callable[..., RecordingMaker]:
    """``make(fail_on=None) -> RecordingMaker``: pass it as ``make_chain`` to the runner."""
    return RecordingMaker


# --------------------------------------------------------------------------- fixtures


def _config(root: Path, tasks: list[str], **kw: Any) -> EvalConfig:
    base: dict[str, Any] = {
        "tasks": tasks,
        "out_dir": root / "out",
        "sib200": _write_sib(root / "sib"),
        "bridges": ["eng_Latn", "fra_Latn", "deu_Latn"],
        "resamples": 200,
        "plots": False,
    }
    return EvalConfig(**{**base, **kw})


def _entry_of(results: dict[str, Any], task: str, src: str | None = None) -> dict[str, Any]:
    return next(
        e for e in results["entries"] if e["task"] == task and (src is None or e["src"] == src)
    )


def _bridge_scores(e: dict[str, Any], rendering: str) -> dict[str, float]:
    return {b: r["score"] for b, r in e["renderings"][rendering]["bridges"].items()}


@pytest.fixture
def use_llm(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """``use(llm) -> llm``: eval's default chain maker builds its chains on ``llm`` from now on.

    ``use(None)`` makes loading a model an error (a run that must not need one).
    """

    def use(llm: Any) -> Any:
        def load(config: EvalConfig, key: str) -> Any:
            if llm is None:
                raise AssertionError("this run must not load a model")
            return llm

        monkeypatch.setattr(evaluate, "_llm", load)
        return llm

    return use


@pytest.fixture
def fake_llm(use_llm: Callable[[Any], Any]) -> FakeLLM:
    """A fresh :class:`FakeLLM`, the model of every chain eval builds in this test."""
    llm: FakeLLM = use_llm(FakeLLM())
    return llm


@pytest.fixture
def fake_llm_class() -> type[FakeLLM]:
    """:class:`FakeLLM` itself (``FakeLLM(fail_after=n)`` is killed after n prompts)."""
    return FakeLLM


@pytest.fixture
def scoring_llm_class() -> type[ScoringFakeLLM]:
    """:class:`ScoringFakeLLM` (the chain picks choices by calibrated scores)."""
    return ScoringFakeLLM


@pytest.fixture
def killed() -> type[Killed]:
    """What a killed fake model raises."""
    return Killed


@pytest.fixture
def make_chain(fake_llm: FakeLLM) -> Callable[..., Callable[[], ChainMaker]]:
    """``make(config, table=None) -> make_chain``: ``default_chain_maker`` on ``fake_llm``."""

    def make(config: EvalConfig, table: Any = None) -> Callable[[], ChainMaker]:
        return default_chain_maker(config, table, model_key(config.model))

    return make


@pytest.fixture
def fake_table() -> FakeTable:
    """A fake bridge table (French best; per-layer scores of the swh and yor entries)."""
    return FakeTable()


@pytest.fixture
def sib_rows() -> dict[str, tuple[str, dict[str, str]]]:
    """The test rows ``write_sib`` writes: id -> (category, {lang: text})."""
    return dict(SIB)


@pytest.fixture
def write_sib() -> Callable[[Path], Path]:
    """``write(root) -> root``: SIB-200 test (4 rows) and train (2 rows) files, 5 languages."""
    return _write_sib


@pytest.fixture
def eval_config() -> Callable[..., EvalConfig]:
    """``config(root, tasks, **overrides) -> EvalConfig`` over fresh SIB data under ``root``.

    Defaults: bridges English, French, German; 200 resamples; no plots; ``root/out``.
    """
    return _config


@pytest.fixture
def entry_of() -> Callable[..., dict[str, Any]]:
    """``entry_of(results, task, src=None)``: the first entry of ``task`` (from ``src``)."""
    return _entry_of


@pytest.fixture
def bridge_scores() -> Callable[[dict[str, Any], str], dict[str, float]]:
    """``bridge_scores(entry, rendering)``: {bridge: score} of one rendering."""
    return _bridge_scores


Evaluated = tuple[dict[str, Any], EvalConfig]  # an entry and the config it was run with


@pytest.fixture
def evaluate_task(tmp_path: Path, fake_llm: FakeLLM) -> Callable[..., Evaluated]:
    """``evaluate(task, *, table=None, **overrides) -> (entry, config)``.

    Runs the evaluation of ``task`` (``eval_config(tmp_path, [task], **overrides)``) through
    the real chains on ``fake_llm`` and returns the first entry of ``task`` with its config.
    """

    def evaluate(task: str, *, table: Any = None, **overrides: Any) -> Evaluated:
        cfg = _config(tmp_path, [task], **overrides)
        results = run_evaluation(cfg, table=table)
        return _entry_of(results, task), cfg

    return evaluate
