"""Evaluation: does the chosen bridge help? (``bridgex-chain eval``).

Run :func:`bridgex_chain.eval.evaluate.run_evaluation` with an
:class:`~bridgex_chain.eval.evaluate.EvalConfig`. Modules: ``data`` (readers of SIB-200, FLORES,
MUSE and Belebele files), ``tasks`` and ``task_*`` (classify, translate, bli, mrc), ``lm``
(cached-prefix scoring and batched generation on a Hugging Face model), ``scoring``
(calibrated label choice), ``runner`` (conditions, arms, resumable execution), ``summary`` and
``stats`` (scores, bootstrap intervals, ranks, Spearman), ``report`` and ``plots``.
Nothing here imports torch until a model is loaded.
"""
