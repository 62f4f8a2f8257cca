"""Versions of the assistant: train a candidate from the project's files, gate it against the
live version, publish it, roll back. The staff console and `python -m staff` both use this.

Every version lives in its own folder, ``VERSIONS_DIR/<id>/``: the model (``model.tar.gz``)
and ``version.json`` (content hash of the files it was trained from, who trained it and when,
whether it was fine-tuned from the live model or trained in full and why, the gate's report,
who published it and when). A candidate whose change keeps the live model's labels is
fine-tuned from it (minutes less, ``train``); the gate judges it like any other.
``VERSIONS_DIR/published.jsonl`` is the history of publications, newest last; its last line
is the live version. Files, not a database table, because the models are files anyway and a
second Rasa server only needs the same folder to find the live one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Set

from knowledge import KnowledgeError, generate
from settings import MODEL_FILE, PROJECT_DIR, publish_token, settings, version_model_file, word_embeddings_dir

if TYPE_CHECKING:  # Rasa is imported only where needed: it takes seconds
    from rasa.shared.core.domain import Domain
    from rasa.shared.importers.importer import TrainingDataImporter

# What a model is trained from: a change to any of these makes a new content hash.
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    "data/**/*.yml",
    "knowledge/*.yml",
    "datasets/training/red_flags/*.yml",
)
# Of each model's epochs (config.yml), when fine-tuning the live model; chosen by measurement
# (docs/benchmarks.md, "How long staff wait for a candidate").
FINETUNE_EPOCH_FRACTION = 0.1
ROLLBACK_DEPTH = 10  # published versions that can be restored in one step
# `python -m staff gate`'s exit code when the gate ran and refused the candidate (1: it could not run).
GATE_REFUSED_EXIT = 3
SWITCH_TIMEOUT_SECONDS = 1800  # every worker of a server loading the model, one at a time, on a busy machine
RED_FLAG_DEVELOPMENT = PROJECT_DIR / "datasets" / "training" / "red_flags"


class ReleaseError(Exception):
    """Something staff must be told in plain words (a failed check, a refused publish)."""


@dataclass
class Version:
    id: str
    content_hash: str
    created_at: str
    created_by: str
    gate: Optional[Dict[str, Any]] = None
    published: List[Dict[str, str]] = field(default_factory=list)  # {"at", "by"} per publication
    # {"finetuned_from": version, "model", "epoch_fraction", "labels_changed": [in plain words]} or
    # {"full": [why]}; None before fine-tuning existed
    training: Optional[Dict[str, Any]] = None

    @property
    def folder(self) -> Path:
        return versions_dir() / self.id

    @property
    def model(self) -> Path:
        return version_model_file(self.id)

    @property
    def gate_passed(self) -> bool:
        return bool(self.gate and self.gate.get("passed"))

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.folder / "version.json", json.dumps(asdict(self), indent=2))


def copy_project(destination: Path) -> Path:
    """Everything a training needs, for a throw-away copy of the project (the training benchmark,
    the release-cycle test): the committed files (not the measuring sets: training never reads
    them), and the built spaCy pipeline and word embeddings, linked."""
    listed = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)  # noqa: S603, S607
    for name in listed.stdout.splitlines():
        source = PROJECT_DIR / name
        if name.startswith("datasets/measuring/") or not source.is_file():
            continue
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination / name)
    (destination / "build").mkdir(exist_ok=True)
    (destination / "build" / "spacy").symlink_to((PROJECT_DIR / "build" / "spacy").resolve())
    (destination / "build" / "wordllama").symlink_to(word_embeddings_dir().resolve())
    return destination


def versions_dir() -> Path:
    return Path(settings().versions_dir)


def project_dir() -> Path:
    """The files a candidate is trained from: those the staff console changes."""
    return settings().staff_project_dir


def _write_atomically(path: Path, text: str) -> None:
    scratch = path.with_suffix(path.suffix + ".tmp")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def content_hash(root: Optional[Path] = None) -> str:
    root = root or project_dir()
    digest = hashlib.sha256()
    for pattern in TRAINING_INPUTS:
        for path in sorted(root.glob(pattern)):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load(version_id: str) -> Version:
    path = versions_dir() / version_id / "version.json"
    if "/" in version_id or not path.is_file():
        raise ReleaseError(f"There is no version {version_id!r}. `python -m staff versions` lists them.")
    return Version(**json.loads(path.read_text(encoding="utf-8")))


def all_versions() -> List[Version]:
    found = [load(p.parent.name) for p in versions_dir().glob("*/version.json")]
    return sorted(found, key=lambda v: v.created_at)


def _history() -> List[Dict[str, str]]:
    path = versions_dir() / "published.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def live() -> Optional[Version]:
    history = _history()
    return load(history[-1]["id"]) if history else None


def live_model() -> Path:
    """The model the gate compares with: the live version's, else the one `make` trained."""
    current = live()
    return current.model if current else MODEL_FILE


# --- train ---------------------------------------------------------------------------------------


def _rasa_environment() -> Dict[str, str]:
    """For the Rasa commands run here: no usage data sent to Rasa unless the clinic asks for it
    (`make run` and the deployment set this too; `python -m staff train` may be run by hand)."""
    return {"RASA_TELEMETRY_ENABLED": "false", **os.environ}


def _run(command: List[str], what: str, environment: Optional[Dict[str, str]] = None) -> str:
    result = subprocess.run(  # noqa: S603
        command, cwd=project_dir(), capture_output=True, text=True, env={**_rasa_environment(), **(environment or {})}
    )
    if result.returncode:
        problems = [line for line in (result.stdout + result.stderr).splitlines() if _is_problem(line)]
        raise ReleaseError(f"{what} failed:\n" + "\n".join(problems[-20:] or ["(no details)"]))
    return result.stdout


def _is_problem(line: str) -> bool:
    return any(word in line for word in ("Error", "error", "UserWarning", "invalid", "not found", "out of date"))


def _write_faq_data() -> None:
    """The project's own checks, as the FAQ training data is written from knowledge/."""
    try:
        generate.write_files(project_dir())
    except KnowledgeError as problem:
        raise ReleaseError(f"Writing the FAQ training data from knowledge/ failed:\n{problem}") from None


def _check_with_rasa() -> None:
    """Rasa's checks of the training data, warnings counted as problems."""
    rasa = str(Path(sys.executable).with_name("rasa"))
    _run([rasa, "data", "validate", "--fail-on-warning"], "Checking the training data")


def train(created_by: str, progress=print, full: bool = False) -> Version:
    """Validates, then trains a candidate from the current files: the live model fine-tuned with
    FINETUNE_EPOCH_FRACTION of the epochs (`rasa train --finetune`), and the models whose labels
    changed (a new topic, response, slot, ...) trained anew beside it; in full when intents or
    entities changed, config.yml's trained settings changed, without a live model, or with
    ``full``. Either way without Rasa's cache; a fine-tuning trains independent components side
    by side, a full training one at a time, as `make train` does (staff/rasa_train.py). The
    version records which it was and why."""
    progress("Checking the training data...")
    _write_faq_data()
    base = live_model()
    with ThreadPoolExecutor(max_workers=1) as background:
        # Rasa's checks run in their own process while this one compares the files with the
        # live model: 6 s before a training starts instead of 11-12 s; both before it.
        checked = background.submit(_check_with_rasa)
        try:
            reasons = ["asked for"] if full else full_training_reasons(project_dir(), base)
        except Exception as error:  # a live model this code cannot read: train in full rather than stop
            reasons = [f"the live model could not be compared ({error.__class__.__name__}: {error})"]
        checked.result()  # the checks' problems, in plain words, stop it here
    digest = content_hash()
    version = Version(
        id=f"{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{digest[:8]}",
        content_hash=digest,
        created_at=_now(),
        created_by=created_by,
    )
    version.folder.mkdir(parents=True, exist_ok=True)
    # _check_with_rasa() above ran the checks `rasa train` would run first (the same validate_files),
    # with warnings counted as failures: not twice.
    options = ["--skip-validation", "--out", str(version.folder), "--fixed-model-name", version.id]
    command = [sys.executable, "-m", "staff.rasa_train", *options]
    if not reasons:
        changed = labels_changed(project_dir(), base)
        anew = " (what has new labels trains anew: " + "; ".join(changed) + ")" if changed else ""
        progress(f"Fine-tuning the live model ({base.name}){anew}...")
        try:
            finetune = [*command, "--finetune", str(base), "--epoch-fraction", str(FINETUNE_EPOCH_FRACTION)]
            _run(finetune, "Fine-tuning")
            current = live()
            version.training = {
                "finetuned_from": current.id if current else "the model `make` trained",
                "model": str(base),
                "epoch_fraction": FINETUNE_EPOCH_FRACTION,
                "labels_changed": changed,
            }
        except ReleaseError as problem:
            # Rasa refused or failed where the check above saw no obstacle: staff still get a candidate.
            reasons = [str(problem)]
    if reasons:
        progress("Training in full (a few minutes): " + "; ".join(reasons) + "...")
        # The red-flag classifier starts from the live model's (settings.py, red_flag_start_model).
        _run(command, "Training", {"RED_FLAG_START_MODEL": str(base)})
        version.training = {"full": reasons}
    version.save()
    return version


# The names the model predicts or fills, by kind. When some change, `staff train` still
# fine-tunes the live model, and trains anew the models whose labels changed
# (staff/rasa_train.py); the version records which names changed.
LABEL_KINDS = ("intent", "FAQ topic", "response", "entity", "slot", "form", "action")
# Rasa's fine-tuning check refuses a changed config.yml (all but the epochs): it needs a full
# training. Compared with the fingerprint the live model stores.
CONFIG_FINGERPRINT = "fingerprint-config"
# Labels whose change is trained in full rather than fine-tuned (full_training_reasons).
FULL_FOR = ("intent", "entity")


def labels(domain: Domain) -> Dict[str, Set[str]]:
    """The names the model predicts or fills, by kind (LABEL_KINDS)."""
    return {
        "intent": set(domain.intents),
        "FAQ topic": {name for name in domain.responses if "/" in name},
        "response": {name for name in domain.responses if "/" not in name},
        "entity": set(domain.entities),
        "slot": {slot.name for slot in domain.slots},
        "form": set(domain.form_names),
        "action": set(domain.user_actions) - set(domain.responses),
    }


def label_changes(
    live: Dict[str, Set[str]], candidate: Dict[str, Set[str]], kinds: Sequence[str] = LABEL_KINDS
) -> List[str]:
    """In plain words, the labels of ``kinds`` added or removed."""
    changes = []
    for kind in kinds:
        for word, names in (("new", candidate[kind] - live[kind]), ("removed", live[kind] - candidate[kind])):
            if names:
                changes.append(f"{word} {kind}: {', '.join(sorted(names))}")
    return changes


def full_training_reasons(root: Path, live: Path) -> List[str]:
    """Why the files in ``root`` need a full training instead of fine-tuning the model ``live``;
    empty when fine-tuning can do (the same config and a Rasa version it can fine-tune)."""
    stored = read_from_model(live, (LIVE_FINGERPRINTS,))
    if stored is None:
        return [f"there is no live model to fine-tune ({live.name})"]
    from packaging import version as versions
    from rasa.constants import MINIMUM_COMPATIBLE_VERSION

    fingerprints = json.loads(stored[0])
    if versions.parse(fingerprints.get("rasa-version", "0")) < versions.parse(MINIMUM_COMPATIBLE_VERSION):
        return [f"the live model was trained with Rasa {fingerprints.get('rasa-version')}"]
    if rasa_fingerprints(training_importer(root))[CONFIG_FINGERPRINT] != fingerprints.get(CONFIG_FINGERPRINT):
        return ["config.yml changed"]
    # DIET trained anew inside a fine-tuning measured slower than a full training (252 and 248 s
    # against 184 s; docs/benchmarks.md): a change of intents or entities trains in full.
    return labels_changed(root, live, FULL_FOR)


def labels_changed(root: Path, live: Path, kinds: Sequence[str] = LABEL_KINDS) -> List[str]:
    """The labels of ``kinds`` added or removed since the model ``live``, in plain words: the
    models that have them train anew while the rest is fine-tuned."""
    stored = read_from_model(live, (LIVE_DOMAIN,))
    if stored is None:
        return []
    from rasa.shared.core.domain import Domain

    return label_changes(labels(Domain.from_yaml(stored[0])), labels(training_importer(root).get_domain()), kinds)


# Where a trained model keeps its domain and the fine-tuning check's fingerprints.
LIVE_DOMAIN = "components/domain_provider/domain.yml"
LIVE_FINGERPRINTS = "components/finetuning_validator/fingerprints-for-validation.json"


def read_from_model(model: Path, members: Sequence[str]) -> Optional[List[str]]:
    """The text of ``members`` of a packed model, or None without the model or one of them.
    Reads only as far as the last of them (they come first, before the weights)."""
    import tarfile

    if not model.is_file():
        return None
    found: Dict[str, str] = {}
    with tarfile.open(model, "r:gz") as archive:
        for member in archive:
            name = member.name.lstrip("/")
            if name in members:
                content = archive.extractfile(member)
                found[name] = content.read().decode("utf-8") if content else ""
                if len(found) == len(members):
                    return [found[name] for name in members]
    return None


def training_importer(root: Path) -> TrainingDataImporter:
    """The project's training data as `rasa train` reads it (its default paths, in ``root``)."""
    from rasa.shared.importers.importer import TrainingDataImporter

    return TrainingDataImporter.load_from_config(
        config_path=str(root / "config.yml"),
        domain_path=str(root / "domain.yml"),
        training_data_paths=[str(root / "data")],
    )


def rasa_fingerprints(importer: TrainingDataImporter) -> Dict[str, str]:
    """What Rasa's FinetuningValidator stores in a model it trains in full and compares when
    fine-tuning it: the config (all but the epochs), the domain without response texts, the
    NLU labels. Computed the same way, by the validator itself, without training."""
    import tempfile

    from rasa.engine.graph import ExecutionContext
    from rasa.engine.recipes.recipe import Recipe
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.graph_components.validators.finetuning_validator import FinetuningValidator
    from rasa.shared.data import TrainingType

    config = importer.get_config()
    recipe = Recipe.recipe_for_name(config.get("recipe"))
    config, _, _ = recipe.auto_configure(importer.get_config_file_for_auto_config(), config, TrainingType.BOTH)
    schema = recipe.graph_config_for_recipe(config, {}, training_type=TrainingType.BOTH).train_schema
    node = schema.nodes["finetuning_validator"]
    with tempfile.TemporaryDirectory() as scratch:
        resource = Resource("finetuning_validator")
        validator = FinetuningValidator.create(
            node.config, LocalModelStorage(Path(scratch)), resource, ExecutionContext(schema)
        )
        validator.validate(importer)
        return json.loads((Path(scratch) / resource.name / FinetuningValidator.FILENAME).read_text(encoding="utf-8"))


# --- gate ----------------------------------------------------------------------------------------

# Of FAQ accuracy on its held-out set.
ACCURACY_LOSS_ALLOWED = 0.01
# The other intents' held-out set is small (79 messages), and DIET trained from zero, as a new
# intent needs, answers several of them differently each time: six full trainings of the same or
# nearly the same files lost 1 to 6 of them net against the model `make` trained
# (docs/benchmarks.md). A loss there refuses a candidate only when chance does not explain it:
# a one-sided sign test on the messages whose outcome changed, at this level.
INTENT_LOSS_SIGNIFICANCE = 0.05


def measure(model: Path, taught: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """What the gate compares, for one model: per message of the held-out FAQ set the topic it
    answers; per held-out message of the other intents (booking, ...) whether it gets its intent;
    per red-flag message (held-out and development sets) whether it escalates; and
    whether every conversation test passes. With ``taught`` (phrasing -> topic, the FAQ
    phrasings the model was trained on), also whether it answers each with its topic."""
    from scripts.evaluate import red_flag_levels, trained_parser

    with ThreadPoolExecutor(max_workers=1) as beside:
        # In a process of its own: it runs on the other core while this one parses.
        failed_conversations = beside.submit(conversation_tests, model)
        figures = _parsed_figures(trained_parser(model), red_flag_levels(model), taught)
        figures["conversation_tests"] = failed_conversations.result()
    return figures


def _parsed_figures(
    parse: Callable[[str], Dict[str, Any]],
    red_flag_levels: Callable[[Sequence[str]], List[Optional[str]]],
    taught: Optional[Dict[str, str]],
) -> Dict[str, Any]:
    """``measure``'s figures that come from the model's reading of each message."""
    from red_flags.contract import EMERGENCY, ESCALATION_LEVELS
    from scripts.evaluate import (
        FAQ_HOLDOUT,
        RED_FLAG_HOLDOUT,
        answered,
        escalation_level,
        held_out_examples,
        intent_holdout,
    )

    faq = {
        text: answered(parse(text)) == intent.split("/", 1)[1]
        for intent, text in held_out_examples(FAQ_HOLDOUT)
        if intent.startswith("faq/")
    }
    labelled = [
        (tier, text)
        for path in [RED_FLAG_HOLDOUT, *sorted(RED_FLAG_DEVELOPMENT.glob("*.yml"))]
        for tier, signs in _yaml(path).items()
        if tier in ("emergency", "urgent")
        for texts in (signs or {}).values()
        for text in texts
    ]
    red_flags = {
        f"{tier}: {text}": level == EMERGENCY if tier == "emergency" else level in ESCALATION_LEVELS
        for (tier, text), level in zip(labelled, red_flag_levels([text for _, text in labelled]), strict=True)
    }
    figures: Dict[str, Any] = {"faq": faq, "intents": intent_holdout(parse), "red_flags": red_flags}
    if taught is not None:
        # A phrasing the red-flag layer escalates is answered as the clinic's rules say, not as taught.
        figures["taught"] = {
            text: answered(parsed) == topic or escalation_level(parsed) in ESCALATION_LEVELS
            for text, topic in taught.items()
            for parsed in [parse(text)]
        }
    return figures


def taught_phrasings(root: Path) -> Dict[str, str]:
    """Every FAQ phrasing of the knowledge files in ``root``, with the topic it teaches."""
    from knowledge import load_topics

    return {question: topic.id for topic in load_topics(root / "knowledge") for question in topic.questions}


def _yaml(path: Path) -> Dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def conversation_tests(model: Path) -> List[str]:
    """The conversation tests (tests/stories) the model fails; empty when all pass."""
    out = model.parent / "conversation-tests"
    rasa = str(Path(sys.executable).with_name("rasa"))
    command = [rasa, "test", "core", "--model", str(model), "--stories", "tests/stories", "--out", str(out)]
    subprocess.run(command, cwd=project_dir(), capture_output=True, text=True, env=_rasa_environment())  # noqa: S603
    failed = out / "failed_test_stories.yml"
    if not failed.is_file():
        return ["the conversation tests did not run"]
    return [line.split(":", 1)[1].strip() for line in failed.read_text().splitlines() if line.startswith("- story:")]


def compare(live_figures: Dict[str, Any], candidate: Dict[str, Any]) -> Dict[str, Any]:
    """The gate's verdict and report: refused if the candidate escalates fewer emergency or
    urgent messages, loses more than ACCURACY_LOSS_ALLOWED of FAQ accuracy, loses messages of
    the other intents (booking, referral, ...) beyond chance (``lost_beyond_chance``), or fails
    a conversation test."""

    def rate(results: Dict[str, bool]) -> float:
        return sum(results.values()) / len(results) if results else 1.0

    reasons = []
    escalated = {
        name: sum(figures["red_flags"].values()) for name, figures in (("live", live_figures), ("candidate", candidate))
    }
    if escalated["candidate"] < escalated["live"]:
        reasons.append(
            f"it escalates fewer emergency or urgent messages ({escalated['candidate']} instead of {escalated['live']})"
        )
    faq = {"live": rate(live_figures["faq"]), "candidate": rate(candidate["faq"])}
    if faq["candidate"] < faq["live"] - ACCURACY_LOSS_ALLOWED:
        reasons.append(f"FAQ accuracy falls from {faq['live']:.1%} to {faq['candidate']:.1%}")
    intents = {"live": rate(live_figures["intents"]), "candidate": rate(candidate["intents"])}
    changed_intents = _changed(live_figures["intents"], candidate["intents"])
    if lost_beyond_chance(len(changed_intents["now_wrong"]), len(changed_intents["now_right"])):
        reasons.append(
            f"accuracy on the other intents (booking, referral, ...) falls from {intents['live']:.1%} "
            f"to {intents['candidate']:.1%}, more than a training from zero varies"
        )
    if candidate["conversation_tests"]:
        reasons.append("it fails conversation tests: " + "; ".join(candidate["conversation_tests"]))
    return {
        "passed": not reasons,
        "reasons": reasons,
        "escalated": escalated,
        "faq_accuracy": faq,
        "intent_accuracy": intents,
        # Told to staff, not a reason to refuse: a phrasing taught for a topic that the candidate
        # still answers with another (a fine-tuning can leave one that fits another topic better).
        # None when they were not checked (the files changed after the candidate was trained).
        "not_as_taught": (
            sorted(text for text, ok in candidate["taught"].items() if not ok) if "taught" in candidate else None
        ),
        "changed": {
            "faq": _changed(live_figures["faq"], candidate["faq"]),
            "intents": changed_intents,
            "red_flags": _changed(live_figures["red_flags"], candidate["red_flags"]),
        },
    }


def lost_beyond_chance(now_wrong: int, now_right: int) -> bool:
    """Whether more messages went wrong than right, by more than one, and by more than chance
    explains: a one-sided sign test (scipy's exact binomial test) at INTENT_LOSS_SIGNIFICANCE."""
    from scipy.stats import binomtest

    if now_wrong - now_right < 2:
        return False
    return bool(
        binomtest(now_wrong, now_wrong + now_right, 0.5, alternative="greater").pvalue < INTENT_LOSS_SIGNIFICANCE
    )


def _changed(before: Dict[str, bool], after: Dict[str, bool]) -> Dict[str, List[str]]:
    return {
        "now_right": sorted(t for t, ok in after.items() if ok and before.get(t) is False),
        "now_wrong": sorted(t for t, ok in after.items() if not ok and before.get(t) is True),
    }


def figures_of(model: Path, taught: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """``measure``, kept beside the model and reused while the model file and the measured sets
    are unchanged: the live version is measured once, not at every gate, and a candidate measured
    at its gate is not measured again as the live version at the next."""
    digest = hashlib.sha256(model.read_bytes())
    for path in _measured_sets():
        digest.update(path.read_bytes())
    taught_digest = hashlib.sha256(json.dumps(taught, sort_keys=True).encode("utf-8")).hexdigest()
    kept = model.with_name(model.name + ".figures.json")
    cached = json.loads(kept.read_text(encoding="utf-8")) if kept.is_file() else {}
    if cached.get("digest") == digest.hexdigest() and (taught is None or cached.get("taught_digest") == taught_digest):
        return cached["figures"] if taught is None else {**cached["figures"], "taught": cached["taught"]}
    figures = measure(model, taught)
    kept_figures = {name: value for name, value in figures.items() if name != "taught"}
    record = {"digest": digest.hexdigest(), "figures": kept_figures, "taught_digest": taught_digest}
    _write_atomically(kept, json.dumps({**record, "taught": figures.get("taught")}))
    return figures


def _measured_sets() -> List[Path]:
    from scripts.evaluate import FAQ_HOLDOUT, INTENT_HOLDOUT, RED_FLAG_HOLDOUT

    stories = sorted((PROJECT_DIR / "tests" / "stories").glob("*.yml"))
    return [FAQ_HOLDOUT, INTENT_HOLDOUT, RED_FLAG_HOLDOUT, *sorted(RED_FLAG_DEVELOPMENT.glob("*.yml")), *stories]


def gate(version_id: str, progress=print) -> Dict[str, Any]:
    version = load(version_id)
    current = live()
    against = current.id if current else "the model `make` trained"
    progress(f"Measuring the live version ({against}), unless already measured...")
    before = figures_of(live_model())
    progress(f"Measuring the candidate {version.id}...")
    # Its taught phrasings too, while the files are still those it was trained from.
    taught = taught_phrasings(project_dir()) if content_hash() == version.content_hash else None
    report = {**compare(before, figures_of(version.model, taught)), "at": _now(), "against": against}
    version.gate = report
    version.save()
    return report


# --- publish and roll back -----------------------------------------------------------------------


def publish(version_id: str, by: str, switch: bool = True) -> Version:
    """Makes a version whose gate passed the live one; with ``switch``, waits until every
    running Rasa server serves it (load_into_servers)."""
    version = load(version_id)
    if not version.gate_passed:
        reasons = "; ".join((version.gate or {}).get("reasons") or ["its gate has not been run"])
        raise ReleaseError(f"Version {version.id} cannot be published: {reasons}.")
    return _make_live(version, by, switch)


def restorable() -> List[str]:
    """The last ROLLBACK_DEPTH published versions, newest (the live one) first."""
    return list(dict.fromkeys(entry["id"] for entry in reversed(_history())))[:ROLLBACK_DEPTH]


def rollback(by: str, version_id: Optional[str] = None, switch: bool = True) -> Version:
    published = restorable()
    if version_id is None:
        if len(published) < 2:
            raise ReleaseError("There is no earlier published version to go back to.")
        version_id = published[1]
    elif version_id not in published:
        raise ReleaseError(f"Version {version_id} is not among the last {ROLLBACK_DEPTH} published versions.")
    return _make_live(load(version_id), by, switch)


def _make_live(version: Version, by: str, switch: bool) -> Version:
    if not version.model.is_file():
        raise ReleaseError(f"The model of version {version.id} is missing.")
    _keep_starting_model()
    entry = {"id": version.id, "at": _now(), "by": by}
    version.published.append({"at": entry["at"], "by": by})
    version.save()
    path = versions_dir() / "published.jsonl"
    lines = [json.dumps(e) for e in [*_history(), entry]]
    _write_atomically(path, "\n".join(lines) + "\n")
    if switch:
        switch_servers(version)
    return version


# Who "published" the model the servers ran before any version was published.
STARTING_MODEL_AUTHOR = "make"


def _keep_starting_model() -> None:
    """Before the first publish: the model the servers run until then (the one `make` trained)
    becomes a version of its own, recorded as published first, so the first publish can be
    rolled back like any other. A copy: `make` may train that file again later."""
    if _history() or not MODEL_FILE.is_file():
        return
    trained = dt.datetime.fromtimestamp(MODEL_FILE.stat().st_mtime, dt.timezone.utc)
    version = Version(
        id=f"{trained:%Y%m%d-%H%M%S}-{STARTING_MODEL_AUTHOR}",
        content_hash="",  # the files it was trained from are not known
        created_at=trained.isoformat(timespec="seconds"),
        created_by=STARTING_MODEL_AUTHOR,
        training={"full": ["trained by `make` before any version was published"]},
    )
    version.folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MODEL_FILE, version.model)
    version.published.append({"at": version.created_at, "by": STARTING_MODEL_AUTHOR})
    version.save()
    entry = {"id": version.id, "at": version.created_at, "by": STARTING_MODEL_AUTHOR}
    _write_atomically(versions_dir() / "published.jsonl", json.dumps(entry) + "\n")


def switch_servers(version: Version) -> None:
    """Moves the running servers to the live ``version``; if one cannot load it, the version is
    taken back off the record, so every server returns to (or stays on) the one before."""
    try:
        load_into_servers(version.model)
    except ReleaseError:
        history = _history()
        if history and history[-1]["id"] == version.id:
            path = versions_dir() / "published.jsonl"
            _write_atomically(path, "".join(json.dumps(e) + "\n" for e in history[:-1]))
            version.published.pop()
            version.save()
        raise


def load_into_servers(model: Path) -> None:
    """Switches each running Rasa server (RASA_SERVER_URLS) to ``model``, the live version's,
    one after the other, and waits until every worker process of each runs it. Each server keeps
    answering with its old model until a new worker has loaded the new one
    (rasa_plugins/worker_pool.py)."""
    import requests

    headers = {"Authorization": f"Bearer {publish_token()}"}
    for url in settings().rasa_server_urls:
        try:
            response = requests.post(
                f"{url}/webhooks/model/load", json={"model_file": str(model)}, headers=headers, timeout=30
            )
            if response.status_code != 202:
                raise ReleaseError(f"The assistant at {url} refused the model (HTTP {response.status_code}).")
            deadline = time.monotonic() + SWITCH_TIMEOUT_SECONDS
            while True:
                status = requests.get(f"{url}/webhooks/model/status", headers=headers, timeout=30).json()
                if status.get("failed") == model.name:
                    raise ReleaseError(f"The assistant at {url} could not load the model; the one before stays live.")
                if status.get("workers") and {w["model"] for w in status["workers"]} == {model.name}:
                    break
                if time.monotonic() > deadline:
                    raise ReleaseError(f"The assistant at {url} did not switch within {SWITCH_TIMEOUT_SECONDS} s.")
                time.sleep(1)
        except requests.RequestException as error:
            raise ReleaseError(f"The assistant at {url} could not be reached ({error.__class__.__name__}).") from None


def describe(versions: Iterable[Version]) -> List[Dict[str, str]]:
    current = live()
    rows = []
    for version in versions:
        gate_report = version.gate or {}
        rows.append(
            {
                "version": version.id + (" (live)" if current and current.id == version.id else ""),
                "trained": f"{version.created_at} by {version.created_by}",
                "how": _how_trained(version.training),
                "gate": "passed" if version.gate_passed else ("refused" if version.gate else "not run"),
                "why": "; ".join(gate_report.get("reasons") or []),
                "published": ", ".join(f"{p['at']} by {p['by']}" for p in version.published),
            }
        )
    return rows


def _how_trained(training: Optional[Dict[str, Any]]) -> str:
    if not training:
        return ""
    if "finetuned_from" in training:
        changed = training.get("labels_changed")
        anew = f"; trained anew for {'; '.join(changed)}" if changed else ""
        return f"fine-tuned from {training['finetuned_from']}{anew}"
    return "full: " + "; ".join(training.get("full") or [])
