"""Multiple-choice benchmarks (CMMLU, C-Eval, CMB-Exam, CMExam, MedQA): what fine-tuning cost.

    prompts   an item (+ k dev shots) -> a context and its choices, in the styles the field uses
    loglik    log-likelihood of each choice after its context, computed as lm-evaluation-harness does
    extract   the answer letters in a generated text (CMB's official rule)
    score     per item choice and correctness -> accuracies as each benchmark reports them, groups, retention
    run       one checkpoint on one benchmark: cached, resumable rows
"""
