"""Each lab check cell fails on the lab's stub and on a typical wrong answer, and passes on the answer.

A check that cannot fail checks nothing. The cells run in-process, in the order the notebook gives
them: every code cell before the exercise in its solution form (so earlier answers are right), then
the exercise cell (the solution, the generated lab's stub, or a wrong answer written here), then the
check cell as the learner sees it (hidden tests dropped). A wrong answer must end in
``AssertionError`` (the course's ``looplab.course.labs.check``); the stub in its ``NotImplementedError``.
"""
from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import matplotlib
import nbformat
import pytest

from looplab.course import labs

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
LAB02 = ROOT / "solutions" / "02_train_a_tiny_model.ipynb"
LAB03 = ROOT / "solutions" / "03_an_llm_runs_the_experiments.ipynb"
LAB05 = ROOT / "solutions" / "05_independent_grading.ipynb"


class Exercise:
    """The cells of one exercise of a solution notebook: the answer cell defining ``name``."""

    _prefix_cache: dict = {}

    def __init__(self, path: Path, name: str, upto: int | None = None, setup: str = ""):
        """``upto``: run only the first ``upto`` code cells before the exercise, then ``setup``
        (for an exercise late in a notebook whose earlier cells train or loop: what it needs, cheaply)."""
        nb = nbformat.read(str(path), as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        hits = [i for i, s in enumerate(code) if labs.BEGIN_SOLUTION in s
                and (f"def {name}(" in s or s.lstrip().startswith(f"{name} ="))]
        assert len(hits) == 1, f"{path.name}: expected one answer cell for {name}, found {len(hits)}"
        i = hits[0]
        self.path, self.name = path, name
        self.prefix, self.answer, self.check_cell = code[:i][:upto] + ([setup] if setup else []), code[i], code[i + 1]
        assert labs.BEGIN_HIDDEN in self.check_cell or "check(" in self.check_cell, \
            f"{path.name}: the cell after {name}'s answer is not a check cell"

    @property
    def stub(self) -> str:
        return labs.lab_source(self.answer, "code")

    def namespace(self) -> dict:
        """The notebook's state just before the exercise (computed once per exercise, then copied)."""
        key = (self.path, self.name)
        if key not in self._prefix_cache:
            ns: dict = {"__name__": "__lab__"}
            with contextlib.redirect_stdout(io.StringIO()):
                for k, src in enumerate(self.prefix):
                    exec(compile(src, f"{self.path.name}[{k}]", "exec"), ns)
            self._prefix_cache[key] = ns
        return dict(self._prefix_cache[key])

    def run(self, answer: str, hidden: bool = False) -> str:
        """Run ``answer`` then the check cell (without its hidden tests unless ``hidden``); return stdout."""
        ns = self.namespace()
        check = self.check_cell if hidden else labs.lab_source(self.check_cell, "code")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(textwrap.dedent(answer), f"{self.name} answer", "exec"), ns)
            exec(compile(check, f"{self.name} check", "exec"), ns)
        return out.getvalue()


def _fill(template: str, parts: dict) -> str:
    """An answer from a template: each ``{name}`` replaced by ``parts[name]``."""
    src = textwrap.dedent(template)
    for k, v in parts.items():
        src = src.replace("{" + k + "}", v)
    return src


def assert_check_works(ex: Exercise, wrong: str, hint: str):
    """The solution passes (hidden tests too); the stub raises; ``wrong`` fails with a hint matching ``hint``."""
    assert "✓ correct" in ex.run(ex.answer, hidden=True)
    with pytest.raises((NotImplementedError, AssertionError)):
        ex.run(ex.stub)
    with pytest.raises(AssertionError, match=hint):
        ex.run(wrong)


def test_check_helper_prints_a_tick_or_raises_with_the_hint(capsys):
    labs.check(True, "unused")
    assert "✓ correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not yet: look again"):
        labs.check(False, "look again")


# -- lab 02 ---------------------------------------------------------------------------------------
ONE_HEAD_WRONG = {
    "unscaled": """
        def one_head(q, k, v):
            return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
        """,
    "softmax over the queries": """
        def one_head(q, k, v):
            return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-2) @ v
        """,
}
ONE_HEAD_WRONG["returns nothing"] = """
    def one_head(q, k, v):
        torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v
    """
ONE_HEAD_HINT = {"unscaled": "square root", "softmax over the queries": "weights for one query sum to 1",
                 "returns nothing": "the shape of v"}


@pytest.mark.parametrize("case", sorted(ONE_HEAD_WRONG))
def test_lab02_one_head_check(case):
    assert_check_works(Exercise(LAB02, "one_head"), ONE_HEAD_WRONG[case], ONE_HEAD_HINT[case])


_CAUSAL = """
    def causal_one_head(q, k, v):
        T = q.shape[-2]
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        {mask}
        return torch.softmax(scores, dim=-1) @ v
    """
CAUSAL_WRONG = {
    "no mask": "pass",
    "mask the wrong way": "scores = scores.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool), -1), float('-inf'))",
    "mask the diagonal too": "scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool)), float('-inf'))",
    "mask after the softmax": "return torch.softmax(scores, -1).masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), 0) @ v",
}
CAUSAL_HINT = {"no mask": "can see the future", "mask the wrong way": "can see the future",
               "mask the diagonal too": "NaN", "mask after the softmax": "can see the future"}


@pytest.mark.parametrize("case", sorted(CAUSAL_WRONG))
def test_lab02_causal_mask_check(case):
    wrong = textwrap.dedent(_CAUSAL).replace("{mask}", CAUSAL_WRONG[case])
    assert_check_works(Exercise(LAB02, "causal_one_head"), wrong, CAUSAL_HINT[case])


_STEP = """
    def my_train_step(model, optimizer, x, y, lr, grad_clip=1.0):
        for group in optimizer.param_groups:
            group["lr"] = lr
        logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        {zero}
        loss.backward()
        {clip}
        {step}
        return {ret}
    """
_RIGHT = dict(zero="optimizer.zero_grad()", clip="torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)",
              step="optimizer.step()", ret="float(loss.detach())")
STEP_WRONG = {
    "no zero_grad": dict(_RIGHT, zero="pass"),
    "no clipping": dict(_RIGHT, clip="pass"),
    "no optimizer step": dict(_RIGHT, step="pass"),
    "returns the tensor": dict(_RIGHT, ret="loss"),
    "clips before backward": dict(_RIGHT, zero="optimizer.zero_grad(); torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)",
                                  clip="pass"),
}
STEP_HINT = {"no zero_grad": "already there", "no clipping": "WITHOUT clipping", "no optimizer step": "did not move",
             "returns the tensor": "Python float", "clips before backward": "WITHOUT clipping"}


@pytest.mark.parametrize("case", sorted(STEP_WRONG))
def test_lab02_training_step_check(case):
    src = _fill(_STEP, STEP_WRONG[case])
    assert_check_works(Exercise(LAB02, "my_train_step"), src, STEP_HINT[case])


def test_lab02_training_step_zeroing_after_the_step_is_also_right():
    """The order of 'forget old gradients' is free as long as they are gone before the next backward."""
    src = _fill(_STEP, dict(_RIGHT, zero="pass", step="optimizer.step(); optimizer.zero_grad()"))
    assert "✓ correct" in Exercise(LAB02, "my_train_step").run(src)


# -- lab 03 ---------------------------------------------------------------------------------------
_T_KEEP = """
    def t_keep(candidate, baseline, alpha=0.05):
        from scipy import stats
        n = len(baseline)
        if n < 2:
            raise ValueError("need 2 seeds")
        if not math.isfinite(candidate):
            return False
        mean = {mean}
        sigma = math.sqrt(sum((b - sum(baseline) / n) ** 2 for b in baseline) / ({dof}))
        k = {quantile} * {factor}
        return {gain} > k * sigma
    """
_T_RIGHT = dict(mean="sum(baseline) / n", dof="n - 1", quantile="stats.t.ppf(1 - alpha, n - 1)",
                factor="math.sqrt(1 + 1 / n)", gain="(mean - candidate)")
T_KEEP_WRONG = {
    "the old k * sigma rule with k = 2": dict(_T_RIGHT, quantile="2.0", factor="1.0"),
    "normal quantile": dict(_T_RIGHT, quantile="stats.norm.ppf(1 - alpha)"),
    "population SD": dict(_T_RIGHT, dof="n"),
    "no sqrt(1 + 1/n)": dict(_T_RIGHT, factor="1.0"),
    "two-sided": dict(_T_RIGHT, quantile="stats.t.ppf(1 - alpha / 2, n - 1)"),
    "alpha ignored": dict(_T_RIGHT, quantile="stats.t.ppf(0.95, n - 1)"),
    "against the best seed": dict(_T_RIGHT, mean="min(baseline)"),
    "higher is better": dict(_T_RIGHT, gain="(candidate - mean)"),
}
T_KEEP_HINT = {"the old k * sigma rule with k = 2": "Student's t", "normal quantile": "Student's t",
               "population SD": "SAMPLE standard deviation", "no sqrt(1 + 1/n)": r"sqrt\(1 \+ 1/n\)",
               "two-sided": "one-sided", "alpha ignored": "use alpha", "against the best seed": "MEAN",
               "higher is better": "lower val_bpb is better"}


@pytest.mark.parametrize("case", sorted(T_KEEP_WRONG))
def test_lab03_t_keep_check(case):
    src = _fill(_T_KEEP, T_KEEP_WRONG[case])
    assert_check_works(Exercise(LAB03, "t_keep"), src, T_KEEP_HINT[case])


_RATE = """
    def false_keep_rate(rule, n_seeds, trials=4000, sigma=0.01, mean=3.0, seed=0):
        rng = random.Random(seed)
        kept = 0
        {fixed}
        for _ in range(trials):
            {draw}
            kept += bool(rule(candidate, baseline))
        return {ret}
    """
_DRAW = ("baseline = [rng.gauss(mean, sigma) for _ in range(n_seeds)]; "
         "candidate = rng.gauss(mean, sigma)")
_RATE_RIGHT = dict(fixed="pass", draw=_DRAW, ret="kept / trials")
RATE_WRONG = {
    "returns the count": dict(_RATE_RIGHT, ret="kept"),
    "returns the discard share": dict(_RATE_RIGHT, ret="1 - kept / trials"),
    "one baseline for every trial": dict(_RATE_RIGHT, fixed="baseline = [rng.gauss(mean, sigma) for _ in range(n_seeds)]",
                                         draw="candidate = rng.gauss(mean, sigma)"),
    "the candidate is a baseline seed": dict(_RATE_RIGHT, draw="baseline = [rng.gauss(mean, sigma) for _ in "
                                             "range(n_seeds)]; candidate = baseline[0]"),
    "sigma ignored": dict(_RATE_RIGHT, draw=_DRAW.replace("sigma)", "1.0)")),
}
RATE_HINT = {"returns the count": "share KEPT", "returns the discard share": "share KEPT",
             "one baseline for every trial": "fresh baseline", "the candidate is a baseline seed": "separately",
             "sigma ignored": "this sigma"}


@pytest.mark.parametrize("case", sorted(RATE_WRONG))
def test_lab03_false_keep_rate_check(case):
    src = _fill(_RATE, RATE_WRONG[case])
    assert_check_works(Exercise(LAB03, "false_keep_rate"), src, RATE_HINT[case])


_CHOOSE = """
    @torch.no_grad()
    def choose(lm, prompt_ids, choice_ids):
        n = prompt_ids.shape[1]
        scores = []
        for c in choice_ids:
            logp = lm(torch.cat([prompt_ids, c], dim=1)).logits[0]{norm}
            scores.append(float(logp[{rows}].gather(1, c[0, :, None]).{reduce}()))
        best = {pick}(range(len(scores)), key=scores.__getitem__)
        return scores, best
    """
_CHOOSE_RIGHT = dict(norm=".log_softmax(-1)", rows="n - 1:-1", reduce="mean", pick="max")
CHOOSE_WRONG = {
    "summed, not averaged": dict(_CHOOSE_RIGHT, reduce="sum"),
    "each token scored at its own position": dict(_CHOOSE_RIGHT, rows="n:"),
    "raw logits, no log_softmax": dict(_CHOOSE_RIGHT, norm=""),
    "the lowest score picked": dict(_CHOOSE_RIGHT, pick="min"),
}
CHOOSE_HINT = {"summed, not averaged": "MEAN", "each token scored at its own position": "one position BEFORE",
               "raw logits, no log_softmax": "log_softmax", "the lowest score picked": "highest score"}


@pytest.mark.slow
def test_lab03_choice_by_likelihood_check(tmp_path, monkeypatch):
    """Against HFBackend.score_choices on the offline SmolLM2 (loaded once: about 20 s, then seconds a case)."""
    monkeypatch.chdir(tmp_path)
    # the lab's setup and imports cells (0-3), then the offline LLM: the cells between train and loop
    ex = Exercise(LAB03, "choose", upto=4, setup="smol = smollm2()")
    assert "✓ correct" in ex.run(ex.answer, hidden=True)
    with pytest.raises(NotImplementedError):
        ex.run(ex.stub)
    for case, parts in CHOOSE_WRONG.items():
        src = _fill(_CHOOSE, parts)
        with pytest.raises(AssertionError, match=CHOOSE_HINT[case]):
            ex.run(src)


_LOOP = """
    def my_train(config, steps, train_tokens):
        model = build_model(config.model, seed=config.seed)
        model.train()
        optimizer = make_optimizer(model, config)
        batches = torch.Generator().manual_seed(config.seed + 1)
        lrs, losses = [], []
        for step in range(steps):
            lr = {lr}
            x, y = get_batch(train_tokens, config.batch_size, config.model.block_size, {gen})
            losses.append(my_train_step(model, optimizer, x, y, lr{clip}))
            lrs.append(lr)
        return lrs, losses
    """
_LOOP_RIGHT = dict(lr="my_lr(step / steps, config.lr, config.warmup_frac, config.min_lr_ratio)", gen="batches",
                   clip=", config.grad_clip")
LOOP_WRONG = {
    "progress counted after the step": dict(_LOOP_RIGHT, lr="my_lr((step + 1) / steps, config.lr, config.warmup_frac, "
                                                            "config.min_lr_ratio)"),
    "no schedule": dict(_LOOP_RIGHT, lr="config.lr"),
    "the config's warm-up ignored": dict(_LOOP_RIGHT, lr="my_lr(step / steps, config.lr)"),
    "a fresh generator every step": dict(_LOOP_RIGHT, gen="torch.Generator().manual_seed(config.seed + 1)"),
    "the default clip, not the config's": dict(_LOOP_RIGHT, clip=""),
}
LOOP_HINT = {"progress counted after the step": "progress 0", "no schedule": "never changes",
             "the config's warm-up ignored": "warmup_frac", "a fresh generator every step": "never a fresh one",
             "the default clip, not the config's": "config.grad_clip"}


@pytest.mark.parametrize("case", sorted(LOOP_WRONG))
def test_lab02_training_loop_check(case):
    src = _fill(_LOOP, LOOP_WRONG[case])
    assert_check_works(Exercise(LAB02, "my_train"), src, LOOP_HINT[case])



# -- lab 05 (the whole notebook is about 10 s at smoke scale; each exercise runs the cells before it once)
_BPB = """
    class BitsPerByteGrader(gr.Grader):
        name, lineage = "bpb-ngram", "independent"

        def __init__(self, real_text, order=6):
            self.lm = NGramLM(order).fit(real_text)

        def bits_per_byte(self, text):
            lp = self.lm.token_logprobs({text})[{rows}]
            return float({reduce} / {unit})

        def score(self, texts):
            return np.array([{sign}self.bits_per_byte(t) for t in texts])

    bpb = BitsPerByteGrader(grader_text, order=6)
    """
_BPB_RIGHT = dict(text='"\\n" + text', rows="1:", reduce="-lp.mean()", unit="math.log(2)", sign="-")
BPB_WRONG = {
    "nats, not bits": dict(_BPB_RIGHT, unit="1.0"),
    "the total, not the mean": dict(_BPB_RIGHT, reduce="-lp.sum()"),
    "the newline scored too": dict(_BPB_RIGHT, rows=":"),
    "no newline before the text": dict(_BPB_RIGHT, text="text", rows=":"),
    "lower is better": dict(_BPB_RIGHT, sign=""),
}
BPB_HINT = {"nats, not bits": "divide by ln 2", "the total, not the mean": "PER BYTE",
            "the newline scored too": "scored the newline", "no newline before the text": "put the newline in front",
            "lower is better": "BETTER document"}


@pytest.mark.parametrize("case", sorted(BPB_WRONG))
def test_lab05_bits_per_byte_grader_check(case):
    assert_check_works(Exercise(LAB05, "bits_per_byte"), _fill(_BPB, BPB_WRONG[case]), BPB_HINT[case])


_KEEP = """
    def keep_top(docs, scores, keep=0.5):
        n_keep = max(1, {count})
        best = np.argsort({key}, kind="{kind}")[:n_keep]
        return [docs[i] for i in {order}]
    """
_KEEP_RIGHT = dict(count="math.ceil(keep * len(docs))", key="-np.asarray(scores, dtype=float)", kind="stable",
                   order="sorted(best)")
KEEP_WRONG = {
    "keeps the lowest scores": dict(_KEEP_RIGHT, key="np.asarray(scores, dtype=float)"),
    "rounds down": dict(_KEEP_RIGHT, count="int(keep * len(docs))"),
    "in score order, not batch order": dict(_KEEP_RIGHT, order="best"),
    "keeps the first documents": dict(_KEEP_RIGHT, key="np.zeros(len(docs))"),
}
KEEP_HINT = {"keeps the lowest scores": "HIGHEST", "rounds down": "ceil", "in score order, not batch order": "order",
             "keeps the first documents": "HIGHEST"}


@pytest.mark.parametrize("case", sorted(KEEP_WRONG))
def test_lab05_filter_keeps_exactly_the_known_good_documents(case):
    assert_check_works(Exercise(LAB05, "keep_top"), _fill(_KEEP, KEEP_WRONG[case]), KEEP_HINT[case])


WORDS_WRONG = {
    "the validation split's vocabulary": """
        words = RealWordGrader(val_text)
        def words_select(docs, k):
            return keep_top(docs, words([d.text for d in docs]), keep=sc.grading.keep)
        """,
    "half, not the lesson's keep": """
        words = RealWordGrader(grader_text)
        def words_select(docs, k):
            return keep_top(docs, words([d.text for d in docs]), keep=0.5)
        """,
    "returns the texts": """
        words = RealWordGrader(grader_text)
        def words_select(docs, k):
            return keep_top([d.text for d in docs], words([d.text for d in docs]), keep=sc.grading.keep)
        """,
}
WORDS_HINT = {"the validation split's vocabulary": "graders' slice", "half, not the lesson's keep": "ceil",
              "returns the texts": "Doc objects"}


@pytest.mark.parametrize("case", sorted(WORDS_WRONG))
def test_lab05_words_filter_check(case):
    assert_check_works(Exercise(LAB05, "words_select"), WORDS_WRONG[case], WORDS_HINT[case])


RATIO_WRONG = {
    "writer minus grader": "def ratio_scores(grader, writer, texts):\n    return writer(texts) - grader(texts)",
    "a quotient of log-probabilities": "def ratio_scores(grader, writer, texts):\n    return grader(texts) / writer(texts)",
    "the grader alone": "def ratio_scores(grader, writer, texts):\n    return grader(texts)",
}
RATIO_HINT = {"writer minus grader": "grader minus writer", "a quotient of log-probabilities": "do not divide",
              "the grader alone": "do not divide"}


@pytest.mark.parametrize("case", sorted(RATIO_WRONG))
def test_lab05_ratio_grader_check(case):
    assert_check_works(Exercise(LAB05, "ratio_scores"), RATIO_WRONG[case], RATIO_HINT[case])


_OVERLAP = """
    def kept_overlap(scores_a, scores_b, keep):
        a = set(gr.top_fraction(scores_a, keep).tolist())
        b = set(gr.top_fraction({b}, keep).tolist())
        return {ret}
    """
_OVERLAP_RIGHT = dict(b="scores_b", ret="len(a & b) / len(a)")
OVERLAP_WRONG = {
    "a count, not a share": dict(_OVERLAP_RIGHT, ret="len(a & b)"),
    "Jaccard (over the union)": dict(_OVERLAP_RIGHT, ret="len(a & b) / len(a | b)"),
    "divided by all documents": dict(_OVERLAP_RIGHT, ret="len(a & b) / len(scores_a)"),
}
OVERLAP_HINT = {k: "number one keeps" for k in OVERLAP_WRONG}


@pytest.mark.parametrize("case", sorted(OVERLAP_WRONG))
def test_lab05_kept_overlap_check(case):
    assert_check_works(Exercise(LAB05, "kept_overlap"), _fill(_OVERLAP, OVERLAP_WRONG[case]), OVERLAP_HINT[case])
