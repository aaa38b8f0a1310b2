"""Evaluation: does the chosen bridge help? (``bridgex-chain eval``).

Run :func:`bridgex_chain.eval.evaluate.run_evaluation` with an
:class:`~bridgex_chain.eval.evaluate.EvalConfig`. Every condition is the chain users run,
:class:`~bridgex_chain.chain.BridgeXChain` under a route policy, driven through ``chain.batch``;
eval builds no prompt. Modules: ``data`` (readers of SIB-200, FLORES, MUSE and Belebele files),
``tasks`` and ``task_*`` (classify, translate, bli, mrc: each item's chain input and how the
reply is scored), ``runner`` (conditions, arms, resumable execution), ``summary`` and ``stats``
(scores, bootstrap intervals, paired tests, ranks, Spearman), ``report``, ``plots`` and
``cells``, and ``lm_eval_model`` (the
chain as an lm-evaluation-harness model). Nothing here imports torch until a model is loaded.
"""
