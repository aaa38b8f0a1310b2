"""Traced steps (chain/steps.py): one child run per step, readable outputs, errors recorded."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackHandler, CallbackManager
from langchain_core.runnables import RunnableConfig

from bridgex_chain.chain.route import Fallback, Route
from bridgex_chain.chain.steps import arun_step, detection_fields, run_step, tagged
from bridgex_chain.detect import Detection, DetectionSource


class Runs(BaseCallbackHandler):
    def __init__(self) -> None:
        self.runs: dict[UUID, dict[str, Any]] = {}

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        parent = kw.get("parent_run_id")
        self.runs[run_id] = {"name": kw.get("name"), "parent": parent, "inputs": inputs}

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self.runs[run_id]["outputs"] = outputs

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.runs[run_id]["error"] = error

    def named(self, name: str) -> dict[str, Any]:
        return next(r for r in self.runs.values() if r["name"] == name)


def test_run_step_nests_under_the_root_and_traces_a_readable_output() -> None:
    runs = Runs()
    root = CallbackManager(handlers=[runs], inheritable_handlers=[runs]).on_chain_start(
        None, {}, name="root"
    )
    seen: list[RunnableConfig] = []

    def step(config: RunnableConfig) -> Route:
        seen.append(config)
        return Route(Detection("swh_Latn", 0.9), fallback=Fallback.NO_BRIDGE)

    route = run_step(root, {}, "lookup", {"lang": "swh_Latn"}, step)
    traced = runs.named("lookup")
    assert traced["parent"] == root.run_id and traced["inputs"] == {"lang": "swh_Latn"}
    assert traced["outputs"] == route.metadata({})
    assert seen[0]["callbacks"] is not None  # the step's own calls nest under it


def test_run_step_records_the_error_and_reraises() -> None:
    runs = Runs()
    root = CallbackManager(handlers=[runs], inheritable_handlers=[runs]).on_chain_start(
        None, {}, name="root"
    )

    def broken(config: RunnableConfig) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_step(root, {}, "rewrite", {}, broken)
    assert isinstance(runs.named("rewrite")["error"], RuntimeError)


def test_arun_step_traces_a_detection() -> None:
    runs = Runs()

    async def main() -> Detection:
        root = await AsyncCallbackManager(
            handlers=[runs], inheritable_handlers=[runs]
        ).on_chain_start(None, {}, name="root")

        async def detect(config: RunnableConfig) -> Detection:
            return Detection("swh_Latn", 0.5, source=DetectionSource.CALLABLE)

        return await arun_step(root, {}, "detect", {}, detect)

    assert asyncio.run(main()).lang == "swh_Latn"
    assert runs.named("detect")["outputs"] == {
        "lang": "swh_Latn",
        "confidence": 0.5,
        "source": "callable",
    }


def test_detection_fields_and_tags() -> None:
    fields = detection_fields(Detection("fin_Latn", 0.7, source="my-detector"))
    assert fields == {"lang": "fin_Latn", "confidence": 0.7, "source": "my-detector"}
    assert tagged({}, "bridgex:render")["tags"] == ["bridgex:render"]
    original: RunnableConfig = {"tags": ["app"]}
    assert tagged(original, "x")["tags"] == ["app", "x"] and original["tags"] == ["app"]
