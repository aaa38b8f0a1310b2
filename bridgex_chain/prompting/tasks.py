"""Planning the model calls of each task kind: bridged X-ICL, or direct prompting as a fallback.

:func:`plan_prompts` is a generator: it yields each intermediate :class:`ModelPrompt` (rendering
the query or passage in the bridge language), receives the model's raw text back through
``send``, and returns a :class:`PromptPlan` holding the answer prompt. The chain drives it with
sync or async model calls, so one piece of code serves ``invoke`` and ``ainvoke``.

* ``chat`` — two calls: the model renders the user's last message in the bridge language, then
  answers in the user's language with the message and its rendering in context. (One call
  cannot be trusted to a base model: it would have to write the rendering and the answer in one
  pass, and the rendering could not be checked or recorded.) History is kept as it is.
* ``translate`` — words (completion style): the reference's two-hop form ``S:"w"→B:"`` then
  ``S:"w"→B:"w_B"→T:"`` (we open the quote: the closing quote stops generation and the word
  comes back bare); sentences: ``S: …`` / ``B: …`` / ``T:`` lines after a rendering call.
* ``classify`` — labelled demonstrations in the bridge language, the query in its own language
  and in the bridge language, then ``Label:``; the answer is parsed to one label.
* ``reading`` — the passage is rendered in the bridge language, then the question with lettered
  options; the answer is parsed to one option.

Without a bridge (``req.bridge is None``), or when the rendering comes back empty, each task
uses its direct prompt, and :attr:`PromptPlan.note` says why when it happened after rendering.

Example:
    >>> from bridgex_chain.prompting.templates import Lang, PromptRequest
    >>> req = PromptRequest(task="translate", style="completion", query="maji",
    ...     src=Lang("swh_Latn", "Swahili"), answer=Lang("eng_Latn", "English"),
    ...     bridge=Lang("fra_Latn", "French"))
    >>> gen = plan_prompts(req)
    >>> next(gen).prompt
    'Swahili:"maji"→French:"'
    >>> try:
    ...     gen.send('eau" (water)')
    ... except StopIteration as done:
    ...     print(done.value.answer.prompt)
    Swahili:"maji"→French:"eau"→English:"
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bridgex_chain.errors import BridgeXError
from bridgex_chain.models.stops import clean_completion
from bridgex_chain.prompting.demos import Demo
from bridgex_chain.prompting.templates import (
    CONTENT_FREE,
    LETTERS,
    TASKS,
    ModelPrompt,
    PromptPlan,
    PromptRequest,
    TemplateLibrary,
)

__all__ = ["Planner", "plan_prompts"]

_MAX_WORD_CHARS = 24


def _clean_rendering(text: str, prompt: ModelPrompt, *, quoted: bool = False) -> str:
    out = clean_completion(text, prompt.stop) if prompt.stop else text.strip()
    return out.strip("\"“”'«»").strip() if quoted else out


# --------------------------------------------------------------------------- planning

Planner = Generator[ModelPrompt, str, PromptPlan]


def plan_prompts(req: PromptRequest, library: TemplateLibrary | None = None) -> Planner:
    """Plan the model calls of one request (see the module docstring for the protocol).

    Raises:
        BridgeXError: Task fields are missing (labels, passage, options, target language).
    """
    lib = library or TemplateLibrary.load()
    planners: dict[str, Callable[[PromptRequest, TemplateLibrary], Planner]] = {
        "chat": _plan_chat,
        "translate": _plan_translate,
        "classify": _plan_classify,
        "reading": _plan_reading,
    }
    if req.task not in planners:
        raise BridgeXError(f"Unknown task {req.task!r}. Use one of: {', '.join(TASKS)}.")
    return planners[req.task](req, lib)


def _demos(req: PromptRequest, text: str, langs: Sequence[str], labelled: bool) -> list[Demo]:
    return req.demos(text, langs, labelled) if req.demos is not None else []


def _render_prompt(
    req: PromptRequest, lib: TemplateLibrary, text: str, demos: Sequence[Demo]
) -> ModelPrompt:
    """The call that renders ``text`` in the bridge language (the model translates it)."""
    assert req.src is not None and req.bridge is not None
    names = {"src": req.src.name, "bridge": req.bridge.name}
    pairs = [(d.texts[req.src.code], d.texts[req.bridge.code]) for d in demos]
    if req.style == "chat":
        messages: list[BaseMessage] = [
            SystemMessage(lib.get("render", "chat", "system").format(**names))
        ]
        for src_text, bridge_text in pairs:
            fmt = {**names, "src_text": src_text, "bridge_text": bridge_text}
            messages.append(HumanMessage(lib.get("render", "chat", "demo_user").format(**fmt)))
            messages.append(AIMessage(lib.get("render", "chat", "demo_assistant").format(**fmt)))
        messages.append(HumanMessage(lib.get("render", "chat", "user").format(**names, text=text)))
        return ModelPrompt(messages, (), "render", text, req.bridge.code)
    demo_tpl = lib.get("render", "completion", "demo")
    prompt = lib.get("render", "completion", "instruction").format(**names)
    prompt += "".join(demo_tpl.format(**names, src_text=s, bridge_text=b) for s, b in pairs)
    prompt += lib.get("render", "completion", "query").format(**names, text=text)
    stop = lib.stops("render", "stop_multiline" if "\n" in text else "stop")
    return ModelPrompt(prompt, stop, "render", text, req.bridge.code)


def _plan_chat(req: PromptRequest, lib: TemplateLibrary) -> Planner:
    rendering: str | None = None
    note: str | None = None
    demo_ids: list[str] = []
    if req.bridge is not None and req.src is not None:
        demos = _demos(req, req.query, (req.src.code, req.bridge.code), False)
        demo_ids = [d.id for d in demos]
        render = _render_prompt(req, lib, req.query, demos)
        rendering = _clean_rendering((yield render), render)
        if not rendering:
            note = "empty_rendering"
    bridged = bool(rendering)
    answer = _chat_answer(req, lib, rendering if bridged else None)
    return PromptPlan(answer, rendering, demo_ids, note=note)


def _chat_answer(req: PromptRequest, lib: TemplateLibrary, rendering: str | None) -> ModelPrompt:
    answer = req.answer.name if req.answer else None
    bridge = req.bridge.name if req.bridge else ""
    if req.style == "chat":
        system: str | None = None
        query: BaseMessage = HumanMessage(req.query)
        if rendering is not None:
            system = lib.get("chat", "chat", "system_bridged").format(answer=answer, bridge=bridge)
            text = lib.get("chat", "chat", "bridged_user")
            query = HumanMessage(text.format(text=req.query, bridge=bridge, rendering=rendering))
        elif answer is not None:
            system = lib.get("chat", "chat", "system").format(answer=answer)
        messages = [*req.history, query, *req.trailing]
        return ModelPrompt(_with_system(system, messages) if system else messages)
    key = "intro" if answer is not None else "intro_unknown"
    prompt = lib.get("chat", "completion", key).format(answer=answer)
    prompt += "".join(_turn(lib, m) for m in req.history)
    if rendering is not None and req.src is not None:
        turn = lib.get("chat", "completion", "bridged_user_turn")
        prompt += turn.format(text=req.query, src=req.src.name, bridge=bridge, rendering=rendering)
    else:
        prompt += lib.get("chat", "completion", "user_turn").format(text=req.query)
    prompt += "".join(_turn(lib, m) for m in req.trailing)
    prompt += lib.get("chat", "completion", "answer_in" if answer else "answer").format(
        answer=answer
    )
    return ModelPrompt(prompt, lib.stops("chat"))


def _turn(lib: TemplateLibrary, message: BaseMessage) -> str:
    key = {"human": "user_turn", "system": "system_turn", "tool": "tool_turn"}.get(
        message.type, "assistant_turn"
    )
    return lib.get("chat", "completion", key).format(text=message.text)


def _with_system(system: str, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Put ``system`` first, merged into a system message the conversation already opens with."""
    if messages and isinstance(messages[0], SystemMessage):
        return [SystemMessage(f"{system}\n\n{messages[0].text}"), *messages[1:]]
    return [SystemMessage(system), *messages]


def _plan_translate(req: PromptRequest, lib: TemplateLibrary) -> Planner:
    if req.answer is None or (req.src is not None and req.answer.code == req.src.code):
        raise BridgeXError(
            "The translate task needs a target language different from the source: pass "
            "answer_language (e.g. {'task': 'translate', 'answer_language': 'en', ...})."
        )
    unit = req.fields.get("unit") or _guess_unit(req.query)
    if unit not in ("word", "sentence"):
        raise BridgeXError(f"Unknown translate unit {unit!r}; use 'word' or 'sentence'.")
    if unit == "word" and req.style == "completion":
        return (yield from _translate_word(req, lib))
    return (yield from _translate_sentence(req, lib))


def _guess_unit(text: str) -> str:
    return "word" if len(text.split()) == 1 and len(text) <= _MAX_WORD_CHARS else "sentence"


def _translate_word(req: PromptRequest, lib: TemplateLibrary) -> Planner:
    """The reference's zero-shot two-hop word form (completion style)."""
    assert req.answer is not None
    names = {
        "src": req.src.name if req.src else "Text",
        "bridge": req.bridge.name if req.bridge else "",
        "target": req.answer.name,
        "text": req.query.strip(),
    }
    stop = lib.stops("translate", "word_stop")
    rendering: str | None = None
    if req.bridge is not None and req.src is not None:
        hop1 = lib.get("translate", "completion", "word_render").format(**names)
        render = ModelPrompt(hop1, stop, "render", names["text"], req.bridge.code)
        rendering = _clean_rendering((yield render), render, quoted=True)
    if rendering:
        hop2 = lib.get("translate", "completion", "word_answer").format(
            **names, rendering=rendering
        )
        return PromptPlan(ModelPrompt(hop2, stop), rendering)
    direct = lib.get("translate", "completion", "word_direct").format(**names)
    note = "empty_rendering" if rendering is not None else None
    return PromptPlan(ModelPrompt(direct, stop), rendering, note=note)


def _translate_sentence(req: PromptRequest, lib: TemplateLibrary) -> Planner:
    assert req.answer is not None
    src, bridge, target = req.src, req.bridge, req.answer
    rendering: str | None = None
    demos: list[Demo] = []
    if src is not None:
        langs = (src.code, bridge.code, target.code) if bridge else (src.code, target.code)
        demos = _demos(req, req.query, langs, False)
    if bridge is not None and src is not None:
        render = _render_prompt(req, lib, req.query, demos)
        rendering = _clean_rendering((yield render), render)
    note = "empty_rendering" if rendering == "" else None
    names = {
        "src": src.name if src else "",
        "bridge": bridge.name if bridge else "",
        "target": target.name,
        "text": req.query,
        "rendering": rendering,
    }
    ids = [d.id for d in demos]
    if req.style == "chat":
        keys = ("system", "user") if rendering else ("system_direct", "direct_user")
        system = keys[0] if src else "system_unknown"
        messages: list[BaseMessage] = [
            SystemMessage(lib.get("translate", "chat", system).format(**names)),
            HumanMessage(lib.get("translate", "chat", keys[1]).format(**names)),
        ]
        return PromptPlan(ModelPrompt(messages), rendering, ids if rendering else [], note=note)
    if src is None:
        prompt = lib.get("translate", "completion", "instruction_unknown").format(**names)
        prompt += lib.get("translate", "completion", "direct_unknown").format(**names)
        return PromptPlan(ModelPrompt(prompt, lib.stops("translate")))
    demo_key, query_key = ("demo", "answer") if rendering else ("direct_demo", "direct")
    demo_tpl = lib.get("translate", "completion", demo_key)
    prompt = lib.get("translate", "completion", "instruction").format(**names)
    for d in demos:
        texts = {"src_text": d.texts[src.code], "target_text": d.texts[target.code]}
        if rendering and bridge is not None:
            texts["bridge_text"] = d.texts[bridge.code]
        prompt += demo_tpl.format(**names, **texts)
    prompt += lib.get("translate", "completion", query_key).format(**names)
    return PromptPlan(ModelPrompt(prompt, lib.stops("translate")), rendering, ids, note=note)


def _plan_classify(req: PromptRequest, lib: TemplateLibrary) -> Planner:
    labels = tuple(str(label) for label in req.fields.get("labels") or ())
    if not labels:
        raise BridgeXError(
            "The classify task needs labels: pass 'labels' in the input, labels= to the chain, "
            "or a labelled demonstration pool (demos=)."
        )
    src, bridge = req.src, req.bridge
    rendering: str | None = None
    ids: list[str] = []
    if bridge is not None and src is not None:
        render_demos = _demos(req, req.query, (src.code, bridge.code), False)
        ids = [d.id for d in render_demos]
        render = _render_prompt(req, lib, req.query, render_demos)
        rendering = _clean_rendering((yield render), render)
    bridged = bool(rendering) and bridge is not None
    demo_lang = bridge.code if bridged and bridge else (src.code if src else None)
    demos = _demos(req, req.query, (demo_lang,), True) if demo_lang else []
    ids += [d.id for d in demos if d.id not in ids]
    names = {
        "labels": ", ".join(labels),
        "src": src.name if src else "",
        "bridge": bridge.name if bridge else "",
        "text": req.query,
        "rendering": rendering,
    }
    # Demonstrations in the bridge language when bridged, else in the query's language.
    text_key, prefix = ("bridge_text", "") if bridged else ("src_text", "direct_")
    shown = [({text_key: d.texts[demo_lang or ""]}, str(d.label)) for d in demos]
    content_free: str | None = None
    if req.style == "chat":
        demo_user = lib.get("classify", "chat", f"{prefix}demo_user")
        messages: list[BaseMessage] = [
            SystemMessage(lib.get("classify", "chat", "system").format(**names))
        ]
        for text, label in shown:
            messages += [HumanMessage(demo_user.format(**names, **text)), AIMessage(label)]
        messages.append(HumanMessage(lib.get("classify", "chat", f"{prefix}user").format(**names)))
        answer = ModelPrompt(messages)
    else:
        demo_tpl = lib.get("classify", "completion", f"{prefix}demo")
        prompt = lib.get("classify", "completion", "instruction").format(**names)
        prompt += "".join(demo_tpl.format(**names, **text, label=label) for text, label in shown)
        query = lib.get("classify", "completion", "query" if bridged else "direct_query")
        answer = ModelPrompt(prompt + query.format(**names), lib.stops("classify"))
        free = {**names, "text": CONTENT_FREE, "rendering": CONTENT_FREE}
        content_free = prompt + query.format(**free)
    note = "empty_rendering" if rendering == "" else None
    return PromptPlan(answer, rendering, ids, labels, note=note, content_free=content_free)


def _plan_reading(req: PromptRequest, lib: TemplateLibrary) -> Planner:
    passage = str(req.fields.get("passage") or "")
    options = tuple(str(o) for o in req.fields.get("options") or ())
    if not passage or not options:
        raise BridgeXError(
            "The reading task needs 'passage' (the text) and 'options' (the answer choices) in "
            "the input, with the question as 'query'."
        )
    rendering: str | None = None
    demo_ids: list[str] = []
    if req.bridge is not None and req.src is not None:
        demos = _demos(req, passage, (req.src.code, req.bridge.code), False)
        demo_ids = [d.id for d in demos]
        render = _render_prompt(req, lib, passage, demos)
        rendering = _clean_rendering((yield render), render)
    option_tpl = lib.get("reading", req.style, "option")
    names = {
        "passage": rendering or passage,
        "question": req.query,
        "options": "".join(
            option_tpl.format(letter=LETTERS[i], option=o) for i, o in enumerate(options)
        ),
    }
    note = "empty_rendering" if rendering == "" else None
    if req.style == "chat":
        messages: list[BaseMessage] = [
            SystemMessage(lib.get("reading", "chat", "system")),
            HumanMessage(lib.get("reading", "chat", "user").format(**names).rstrip()),
        ]
        answer = ModelPrompt(messages)
        content_free = None
    else:
        template = lib.get("reading", "completion", "prompt")
        answer = ModelPrompt(template.format(**names), lib.stops("reading"))
        free = {**names, "passage": CONTENT_FREE, "question": CONTENT_FREE}
        content_free = template.format(**free)
    ids = demo_ids if rendering else []
    return PromptPlan(
        answer, rendering, ids, options, letters=True, note=note, content_free=content_free
    )
