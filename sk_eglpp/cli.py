"""The ``sk-eglpp`` console command.

``sk-eglpp select`` picks the next images to annotate from a folder of images
and COCO keypoints annotations (:func:`sk_eglpp.select_for_annotation`);
``sk-eglpp make-synthetic`` writes the embedded synthetic data in that form
and ``sk-eglpp merge-coco`` merges (or subsets) COCO files.

``sk-eglpp simulate`` runs the paper's active-learning simulation (section 4,
Table 1) with :func:`sk_eglpp.simulation.simulate`: by default on the
embedded synthetic pose data with a stacked-hourglass regressor and EGL++,
random, Core-set, multi-peak entropy and Learning Loss; with
``--task toy-regression`` on a heavy-tailed linear regression problem with
linear-model pipelines. It prints the Table-1 report and writes
``results.csv``, ``table.txt`` and ``learning_curves.png`` to ``--output-dir``.
"""

import argparse
import contextlib
import sys
import time
import warnings
from pathlib import Path

from ._param_validation import available_device
from ._version import __version__
from .query import STRATEGIES, get_query_tags
from .simulation import POSE_PRESETS, TOY_PRESETS

__all__ = ["main", "build_parser"]

REFERENCE = {"pose": "egl_pp", "toy-regression": "egl_linear"}
SCORE_NAMES = {"pose": "PCK@0.2", "toy-regression": "RMSE"}

#: the models (``QueryTags.model``) each task's strategies may score with:
#: pose trains a network, toy-regression a linear model
TASK_MODELS = {"pose": ("any", "network"), "toy-regression": ("any", "linear")}

#: the presets of each task (the library's; ``pose_problem`` / ``toy_problem``
#: build the experiments from them)
TASK_PRESETS = {"pose": POSE_PRESETS, "toy-regression": TOY_PRESETS}
PRESETS = ("default", "quick", "benchmark", "lspet")

#: the options of ``sk-eglpp simulate`` that override a preset's setting:
#: (option, preset key, help text)
OVERRIDES = (
    ("--cycles", "n_cycles", "active-learning cycles per run"),
    ("--budget", "budget", "samples queried per cycle"),
    ("--initial", "n_initial", "size of the initial labelled set (base models)"),
    ("--runs", "n_runs", "independent runs, one base model each"),
    ("--pool-size", "n_pool", "samples in the pool"),
    ("--test-samples", "n_test", "samples in the test set"),
    (
        "--image-size",
        "image_size",
        "side of the square pose images in pixels, a multiple of 16",
    ),
    (
        "--epochs",
        "max_epochs",
        "training epochs of the base model and of every cycle (a cycle "
        "continues training the previous cycle's network)",
    ),
)


def _dest(option):
    return option.lstrip("-").replace("-", "_")


def _strategies_for(models):
    """The registered strategy names whose tags' model is one of ``models``."""
    return [name for name in STRATEGIES if get_query_tags(name).model in models]


DESCRIPTION = """\
Simulate pool-based active learning as in the EGL++ paper (section 4, Table 1):
per run, a base model is trained on a random initial labelled set shared by all
strategies; every strategy then runs CYCLES cycles of "query BUDGET samples,
label them, continue training, score on the test set". The report gives, per
labelled-set size, each strategy's mean and standard deviation over the runs
and the p-value of a one-tailed paired t-test against the reference strategy
(EGL++ for pose, the linear EGL for toy-regression); * marks significance at
90 % confidence.

Tasks:
  pose            stacked-hourglass regressor (skorch) on 64x64 pose images;
                  score PCK@0.2 (higher is better). Data: the embedded
                  synthetic figures, or LSP / LSPET / MPII read from --data-dir
                  (converted to grey level; a random --test-size split).
  toy-regression  ridge regression in a StandardScaler pipeline on a linear
                  problem with heavy-tailed (Student t, 3 dof) inputs; score
                  RMSE (lower is better).

Output (in --output-dir): results.csv (one row per run x strategy x cycle),
table.txt (the report), learning_curves.png, selection_map.png (what each
strategy selected in run 0 on a PCA map of the pool's embeddings, coloured by
synthetic video sequence: the paper's Fig. 2 idea), and state/ (what makes an
interrupted run resumable: rerun the same command to continue; nothing
already computed is recomputed).
"""


def build_parser():
    """The argument parser of ``sk-eglpp`` (exposed for the docs).

    Examples
    --------
    >>> parser = build_parser()
    >>> args = parser.parse_args(["simulate", "--task", "toy-regression", "--quick"])
    >>> args.task, args.quick
    ('toy-regression', True)
    """
    parser = argparse.ArgumentParser(
        prog="sk-eglpp",
        description="Active learning for regression with EGL++ (sk_eglpp).",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_simulate_command(commands)
    _add_annotation_commands(commands)
    return parser


def _add_simulate_command(commands):
    sim = commands.add_parser(
        "simulate",
        help="run the paper's active-learning simulation and print Table 1",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_problem_options(sim)
    _add_run_options(sim)
    _finish_command(sim, _simulate)


def _add_problem_options(sim):
    """``simulate``'s options of what is simulated: task, data, strategies, sizes."""
    sim.add_argument(
        "--task",
        choices=["pose", "toy-regression"],
        default="pose",
        help="what to simulate (default: pose)",
    )
    sim.add_argument(
        "--data",
        choices=["synthetic", "lsp", "lspet", "mpii"],
        default="synthetic",
        help="pose data set (default: synthetic, the embedded generator); lsp, "
        "lspet and mpii are read from --data-dir",
    )
    sim.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder of the LSP / LSPET / MPII data set (its own annotation files "
        "and images; nothing is downloaded)",
    )
    sim.add_argument(
        "--max-samples",
        type=_positive_int,
        default=None,
        help="read at most this many images of a real data set",
    )
    sim.add_argument(
        "--test-size",
        type=float,
        default=None,
        help="fraction of a real data set held out for testing, the rest being "
        "the pool (default: --test-samples images drawn at random for the test "
        "set and the next --pool-size images for the pool)",
    )
    sim.add_argument(
        "--strategies",
        default=None,
        help="comma-separated strategy names (default for pose: "
        f"{','.join(POSE_PRESETS['default']['strategies'])}, with --preset "
        "benchmark also mc_dropout; for toy-regression: "
        f"{','.join(TOY_PRESETS['default']['strategies'])}); available: "
        f"{', '.join(STRATEGIES)}",
    )
    sim.add_argument(
        "--reference",
        default=None,
        help="strategy the others are tested against (default: egl_pp for pose, "
        "egl_linear for toy-regression, else the first strategy)",
    )
    for option, key, text in OVERRIDES:
        sim.add_argument(
            option,
            type=_positive_int,
            default=None,
            help=f"{text} (default: {_default_help(key)})",
        )


def _add_run_options(sim):
    """``simulate``'s options of how it runs: device, seed, jobs, output, preset."""
    sim.add_argument(
        "--device",
        default="cpu",
        help="torch device of the pose network, e.g. cpu or cuda (default: cpu)",
    )
    sim.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the data and of the whole simulation (default: 0)",
    )
    sim.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="runs executed in parallel (joblib; default: one at a time)",
    )
    sim.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="torch and BLAS threads per run (default: 1, which slows down only "
        "in proportion when other processes share the cores; use --n-jobs for "
        "more cores)",
    )
    sim.add_argument(
        "--output-dir",
        type=Path,
        default=Path("sk_eglpp_results"),
        help="where the results, the report and the plot are written "
        "(default: sk_eglpp_results)",
    )
    sim.add_argument(
        "--overwrite",
        action="store_true",
        help="discard the saved state of a previous simulation in --output-dir "
        "instead of resuming it",
    )
    sim.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help="the configuration the other options start from: default (pose: "
        "about 5 minutes on a 2-core CPU), quick (under 2 minutes: smaller pool, "
        "images, networks, fewer cycles, runs and epochs) or benchmark (pose "
        "only, under an hour: the selection benchmark, sized for a base model "
        "near PCK@0.2 0.5 and curves that still rise; 5 runs, 3 cycles of 200 "
        "after 400 initial images, the paper's strategies and mc_dropout, with "
        "--fidelity) or lspet (pose only, with --data lspet: the real-data "
        "selection benchmark, about an hour with --n-jobs 2; see the user "
        "guide's Real data)",
    )
    sim.add_argument(
        "--quick", action="store_true", help="the same as --preset quick"
    )
    sim.add_argument(
        "--fidelity",
        action="store_true",
        default=None,
        help="also measure at every query how well each strategy's utilities "
        "track the true squared gradient lengths and errors of the pool "
        "(written to fidelity.txt; on with --preset benchmark)",
    )
    sim.add_argument(
        "--no-progress", action="store_true", help="do not show progress bars"
    )


def _finish_command(command, handler):
    """``--debug`` and the dispatch of every subcommand."""
    command.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of a one-line message",
    )
    command.set_defaults(handler=handler, command_parser=command)


SELECT_DESCRIPTION = """\
Pick the next images to annotate (one round of active learning on your own
data). Reads the COCO keypoints file(s) ANNOTATIONS of the annotated images in
IMAGES_DIR, trains a stacked-hourglass regressor on them (or, with --model, goes
on training the previous round's model), scores every unannotated image with
the strategy (EGL++ by default) and writes to --output-dir:

  selection.csv       rank, file_name, image_id, utility and the person box
                      bbox_x, bbox_y, bbox_width, bbox_height (empty for a
                      whole image), most informative first
  selection.json      COCO file of the selected images (and person boxes), to
                      import into the annotation tool (with the predicted
                      keypoints as pre-annotations with --pre-annotate)
  contact_sheet.png   the selected images with the predicted skeletons
  model/              the model, for the next round's --model

The unannotated images are every image file in IMAGES_DIR (and its subfolders)
that is not annotated (no annotation labels a keypoint), or those listed in
--unannotated; names are relative to IMAGES_DIR and never leave it. Images are
read as annotation tools show them (EXIF orientation applied). With --crop
image (the default) an image is read whole and padded to a square: one person
per image. With --crop bbox every annotated person is cropped by its COCO box,
and an unannotated image is scored one sample per person box (annotations with
a bbox and no keypoints, as a person detector writes them), or whole when it
has none; the selection lists people, and keypoints are written in the full
image's pixels. LSP / LSPET folders convert with
sk_eglpp.datasets.leeds_to_coco. Nothing given is modified, and --output-dir
gets only the files above (plus round.json and a lock): a folder holding other
files of those names, or an output that is or lies inside an input, is
refused. An interrupted round resumes from the saved model when the same
command is run again. A round is reproducible for a --seed and --threads on
the same kind of processor.

Round by round:
  sk-eglpp select imgs ann.json --budget 100 --output-dir round-1
  # annotate round-1/selection.json in the annotation tool, export batch-1.json
  sk-eglpp select imgs ann.json batch-1.json --budget 100 \\
      --model round-1 --output-dir round-2
  # ... and so on, every round adding its batch's export

Try it offline on the embedded synthetic data: sk-eglpp make-synthetic demo
writes images, annotations.json and the ground truth of the other images
(ground_truth.json); "annotate" a selection with
  sk-eglpp merge-coco demo/batch-1.json demo/ground_truth.json \\
      --images round-1/selection.json
"""


def _add_annotation_commands(commands):
    sel = commands.add_parser(
        "select",
        help="pick the next images to annotate from a folder and COCO annotations",
        description=SELECT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sel.add_argument("images_dir", type=Path, metavar="IMAGES_DIR",
                     help="the image folder (COCO file_name entries are relative "
                     "to it)")
    sel.add_argument("annotations", type=Path, nargs="+", metavar="ANNOTATIONS",
                     help="COCO keypoints file(s) of the annotated images")
    sel.add_argument("--budget", type=_positive_int, required=True,
                     help="number of images (people, with --crop bbox) to select")
    sel.add_argument("--output-dir", type=Path, required=True,
                     help="where this round's files are written")
    sel.add_argument("--strategy", default="egl_pp",
                     help="query strategy (default: egl_pp; on the LSPET "
                     "benchmark as good as random_query, the cheaper choice: see "
                     "the user guide's Real data); one of "
                     f"{', '.join(_strategies_for(('any', 'network')))}")
    sel.add_argument("--batch", choices=["top", "diverse", "kmeans++"],
                     default="top",
                     help="how egl_pp spends the budget: its top scores (default, "
                     "the paper's), or a batch-aware choice that avoids "
                     "near-identical images (diverse; kmeans++, random with "
                     "--seed); see the user guide, 'Spending a batch'")
    sel.add_argument("--unannotated", type=Path, default=None,
                     help="text file listing the unannotated images to choose "
                     "from, one file name per line (default: every image file "
                     "in IMAGES_DIR that is not annotated)")
    sel.add_argument("--model", type=Path, default=None,
                     help="the previous round's --output-dir: continue training "
                     "its model")
    sel.add_argument("--pre-annotate", action="store_true",
                     help="write the predicted keypoints into selection.json")
    sel.add_argument("--image-size", type=_positive_int, default=None,
                     help="side of the network's square input, a multiple of 8 "
                     "(default: 64, or the previous round's)")
    sel.add_argument("--gray", action="store_true", default=None,
                     help="read images as grey levels (default: RGB, or the "
                     "previous round's)")
    sel.add_argument("--crop", choices=["image", "bbox"], default=None,
                     help="image: whole images padded to a square, one person "
                     "per image; bbox: one sample per person box (default: "
                     "image, or the previous round's)")
    sel.add_argument("--epochs", type=_positive_int, default=10,
                     help="training epochs of this round (default: 10)")
    sel.add_argument("--device", default="cpu",
                     help="torch device, e.g. cpu or cuda (default: cpu)")
    sel.add_argument("--n-jobs", type=_n_jobs, default=None,
                     help="joblib workers of the strategy's scoring")
    sel.add_argument("--threads", type=_positive_int, default=1,
                     help="torch / BLAS threads for the whole round (default: 1; "
                     "the selection depends on it, and more threads than free "
                     "cores slow training and scoring down)")
    sel.add_argument("--seed", type=int, default=0,
                     help="seed of training and of randomised strategies "
                     "(default: 0)")
    sel.add_argument("--overwrite", action="store_true",
                     help="replace another round's files in --output-dir")
    sel.add_argument("--no-progress", action="store_true",
                     help="do not show progress bars")
    _finish_command(sel, _select)

    syn = commands.add_parser(
        "make-synthetic",
        help="write the synthetic pose data as images plus COCO annotations",
        description="Write the embedded synthetic pose data to DIR as PNG images "
        "(DIR/images), a COCO keypoints file of an annotated subset "
        "(DIR/annotations.json) and the ground truth of the other images "
        "(DIR/ground_truth.json, to play the annotator): the offline default of "
        "sk-eglpp select. DIR must not exist or be empty.",
    )
    syn.add_argument("directory", type=Path, metavar="DIR")
    syn.add_argument("--images", type=_positive_int, default=500,
                     help="number of images (default: 500)")
    syn.add_argument("--annotated", type=_positive_int, default=50,
                     help="number of them annotated in annotations.json "
                     "(default: 50)")
    syn.add_argument("--image-size", type=_positive_int, default=64,
                     help="side of the square images (default: 64)")
    syn.add_argument("--seed", type=int, default=0,
                     help="seed of the generator (default: 0)")
    _finish_command(syn, _make_synthetic)

    merge = commands.add_parser(
        "merge-coco",
        help="merge COCO keypoints files, optionally only some images",
        description="Write OUTPUT, the COCO keypoints files INPUT merged (images "
        "matched by file name, annotations renumbered). With --images, only the "
        "images listed in that COCO file are kept: with the ground truth of "
        "sk-eglpp make-synthetic and a round's selection.json, this plays the "
        "annotator. OUTPUT must not be one of the inputs.",
    )
    merge.add_argument("output", type=Path, metavar="OUTPUT")
    merge.add_argument("inputs", type=Path, nargs="+", metavar="INPUT")
    merge.add_argument("--images", type=Path, default=None,
                       help="COCO file whose images are the ones to keep")
    _finish_command(merge, _merge_coco)


def _default_help(key):
    parts = []
    for task, presets in TASK_PRESETS.items():
        if key not in presets["default"]:
            continue
        text = f"{task} {presets['default'][key]}, with --quick {presets['quick'][key]}"
        for name in ("benchmark", "lspet"):
            if name in presets:
                text += f", with --preset {name} {presets[name][key]}"
        parts.append(text)
    return "; ".join(parts)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-zero integer, got {text!r}"
        ) from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "expected a positive number of workers or a negative one (-1: all "
            "CPUs), got 0"
        )
    return value


def _check_device(device, parser):
    """Usage error for a torch device that is malformed or not on this machine."""
    try:
        available_device(device)
    except ValueError as exc:  # "device ...: why"
        parser.error(f"--{exc}")


def main(argv=None):
    """Run ``sk-eglpp``; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` when ``None``).

    Returns
    -------
    status : int
        0 on success, 1 when the command cannot run (a one-line message on
        stderr says why; ``--debug`` shows the traceback instead), 130 when
        interrupted with Ctrl-C (what finished is kept; the same
        ``simulate`` or ``select`` command resumes). Usage errors exit with
        status 2 (argparse).

    Examples
    --------
    >>> import tempfile
    >>> status = main(["simulate", "--task", "toy-regression", "--quick",
    ...                "--no-progress", "--output-dir", tempfile.mkdtemp()])
    sk-eglpp simulate: task=toy-regression ...
    RMSE: mean +- sigma over 5 runs
    ...
    >>> status
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .simulation import (
        OutputDirInUseError,
        ResumeMismatchError,
        StoreError,
        StoreFormatError,
    )

    prog = f"sk-eglpp {args.command}"
    try:
        with _warnings_in_one_line(prog):
            return args.handler(args, args.command_parser)
    except KeyboardInterrupt:
        if args.debug:
            raise
        if args.command == "simulate":
            print(
                f"\n{prog}: interrupted; every finished cycle is saved in "
                f"{args.output_dir / 'state'}. Run the same command again to "
                "resume.",
                file=sys.stderr,
            )
        elif args.command == "select":
            print(
                f"\n{prog}: interrupted; run the same command again to resume "
                "(a model already trained is reused).",
                file=sys.stderr,
            )
        else:
            print(f"\n{prog}: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except (ResumeMismatchError, StoreFormatError) as exc:  # a store of ours
        if args.debug:
            raise
        print(
            f"{prog}: error: {exc} To start afresh in this folder, pass "
            "--overwrite (it deletes the saved results).",
            file=sys.stderr,
        )
        return 1
    except StoreError as exc:  # no store (or a damaged one): never --overwrite
        if args.debug:
            raise
        print(
            f"{prog}: error: {exc} To start afresh, choose another --output-dir.",
            file=sys.stderr,
        )
        return 1
    except (_UserError, OutputDirInUseError) as exc:
        if args.debug:
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # missing file, read-only folder, full disk, ...
        if args.debug:
            raise
        if isinstance(exc, FileNotFoundError) and exc.filename is None:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 1
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"{prog}: error: cannot read or write{where}: "
            f"{exc.strerror or exc}. Pass --debug for the traceback.",
            file=sys.stderr,
        )
        return 1
    except MemoryError:
        if args.debug:
            raise
        print(f"{prog}: error: out of memory; use smaller settings (image size, "
              "pool, batch size). Pass --debug for the traceback.", file=sys.stderr)
        return 1
    except (ValueError, TypeError, RuntimeError, ArithmeticError) as exc:
        if args.debug:
            raise
        text = " ".join(str(exc).split())  # one line, whatever raised it
        print(f"{prog}: error: {text} (pass --debug for the traceback)",
              file=sys.stderr)
        return 1


class _UserError(Exception):
    """A problem the user can fix (reported without a traceback)."""


@contextlib.contextmanager
def _warnings_in_one_line(prog):
    """Show the warnings of the block as ``<prog>: warning: <message>`` lines
    on stderr (no source path); the previous ``warnings.showwarning`` after it."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text}", file=sys.stderr if file is None else file)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _settings(args, parser):
    """The preset, its overrides and the strategies the options ask for."""
    if args.quick and args.preset not in (None, "quick"):
        parser.error(f"--quick contradicts --preset {args.preset}")
    preset = "quick" if args.quick else (args.preset or "default")
    presets = TASK_PRESETS[args.task]
    if preset not in presets:
        parser.error(f"--preset {preset} applies to --task pose only")
    defaults = presets[preset]
    overrides = {}
    for option, key, _ in OVERRIDES:
        value = getattr(args, _dest(option))
        if value is not None and key in defaults:
            overrides[key] = value
    if args.fidelity:
        overrides["fidelity"] = True
    names = args.strategies or ",".join(defaults["strategies"])
    strategies = [name.strip() for name in names.split(",") if name.strip()]
    if not strategies:
        parser.error(f"--strategies must name at least one strategy, got {names!r}")
    if len(set(strategies)) != len(strategies):
        parser.error(f"--strategies names a strategy twice: {names!r}")
    for name in strategies:
        _check_strategy(name, args.task, args.strategies is None, parser)
    reference = args.reference or REFERENCE[args.task]
    if args.reference is not None and reference not in strategies:
        parser.error(
            f"--reference {reference!r} is not among the strategies {strategies}"
        )
    if args.task == "pose":
        image_size = overrides.get("image_size", defaults["image_size"])
        if image_size % 16:
            parser.error(f"--image-size must be a multiple of 16, got {image_size}")
        if args.data != "synthetic" and args.data_dir is None:
            parser.error(f"--data {args.data} needs --data-dir")
        if args.data == "synthetic" and preset == "lspet":
            parser.error(
                "--preset lspet is the real-data benchmark: give --data lspet "
                "--data-dir FOLDER"
            )
        if args.data == "synthetic" and args.data_dir is not None:
            parser.error(
                "--data-dir needs --data lsp, lspet or mpii (the synthetic data "
                "is generated, not read)"
            )
        _check_device(args.device, parser)
    elif args.data != "synthetic":
        parser.error("--data applies to --task pose only")
    if args.output_dir.exists() and not args.output_dir.is_dir():
        parser.error(f"--output-dir {str(args.output_dir)!r} is a file, not a folder")
    if args.test_size is not None and not 0 < args.test_size < 1:
        parser.error(f"--test-size must be in (0, 1), got {args.test_size}")
    return {
        "preset": preset,
        "overrides": overrides,
        "strategies": strategies,
        "reference": reference if reference in strategies else strategies[0],
    }


def _check_strategy(name, task, from_preset, parser):
    """Usage error for a strategy that is not registered, or whose tags say it
    scores with a model the task does not train."""
    try:
        model = get_query_tags(name).model
    except ValueError:
        registered = ", ".join(sorted(STRATEGIES))
        if from_preset:
            parser.error(
                f"strategy {name!r} is not available in this installation; "
                f"registered strategies: {registered}"
            )
        parser.error(f"unknown strategy {name!r}; expected one of {registered}")
    if model not in TASK_MODELS[task]:
        trains = "a network" if task == "pose" else "a linear model"
        parser.error(
            f"strategy {name!r} scores with a {model} model and --task {task} "
            f"trains {trains}; choose among "
            f"{', '.join(_strategies_for(TASK_MODELS[task]))}"
        )


def _problem(args, s):
    """The library's problem for the options: simulate's arguments and groups."""
    from .simulation import pose_problem, toy_problem

    common = dict(strategies=s["strategies"], random_state=args.seed, **s["overrides"])
    if args.task == "toy-regression":
        return toy_problem(s["preset"], **common), None
    if args.data == "synthetic":
        return pose_problem(s["preset"], device=args.device, **common)
    try:
        return pose_problem(
            s["preset"],
            device=args.device,
            data=args.data,
            data_dir=args.data_dir,
            max_samples=args.max_samples,
            test_size=args.test_size,
            **common,
        )
    except (OSError, ValueError) as exc:
        raise _UserError(
            f"cannot read {args.data} from {args.data_dir}: {exc}"
        ) from exc


def _selection_map(out, results, estimator, X, groups, state, task, run=0):
    """Write ``selection_map.png``: what each strategy picked in ``run``.

    Pose: on the embeddings by the run's base model in the store ``state``;
    toy-regression: on the inputs. Returns the figure (None when the store
    holds no base model of ``run``).
    """
    from .simulation._report import selection_map_figure

    figure = selection_map_figure(
        results,
        X,
        groups=groups,
        estimator=estimator,
        store_path=state if task == "pose" else None,
        run=run,
    )
    if figure is not None:
        figure.savefig(out / "selection_map.png", dpi=90)
    return figure


def _simulate(args, parser):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ._threads import thread_limits
    from .simulation import delete_store, plot_learning_curves, simulate
    from .simulation._report import (
        fidelity_report,
        reported_results,
        table_report,
        time_summary,
    )

    s = _settings(args, parser)
    problem, groups = _problem(args, s)
    score_name = SCORE_NAMES[args.task]
    X, X_test = problem["X"], problem["X_test"]
    out = args.output_dir
    state = out / "state"
    if args.overwrite and state.exists():
        # under its lock: never what another process writes; only a store's
        # own files (a StoreError for a folder that is no store)
        delete_store(state)
    needed = problem["n_initial"] + problem["n_cycles"] * problem["budget"]
    if needed > len(X):
        raise _UserError(
            f"--initial + --cycles * --budget = {needed} exceeds the {len(X)} "
            "samples of the pool; lower them or enlarge the pool."
        )
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"sk-eglpp simulate: task={args.task} data={args.data} pool={len(X)} "
        f"test={len(X_test)} initial={problem['n_initial']} "
        f"budget={problem['budget']} cycles={problem['n_cycles']} "
        f"runs={problem['n_runs']} strategies={','.join(s['strategies'])}",
        flush=True,
    )
    start = time.perf_counter()
    results = simulate(
        **problem,
        output_dir=state,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        n_threads=args.threads,
        verbose=0 if args.no_progress else 1,
    )
    results, alternative = reported_results(
        results, scoring=problem.get("scoring"), metric=score_name
    )
    text = table_report(
        results, reference=s["reference"], alternative=alternative, metric=score_name
    )
    results.to_csv(out / "results.csv")
    (out / "table.txt").write_text(text + "\n", encoding="utf-8")
    written = ["results.csv", "table.txt"]
    if problem["fidelity"]:
        fidelity = fidelity_report(results, s["reference"])
        (out / "fidelity.txt").write_text(fidelity + "\n", encoding="utf-8")
        written.append("fidelity.txt")
    figure = Figure(figsize=(6.5, 4.2))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    plot_learning_curves(
        results,
        ax=ax,
        ylabel=score_name,
        title=f"{args.task} ({args.data}), mean +- std over {problem['n_runs']} runs",
    )
    figure.tight_layout()
    figure.savefig(out / "learning_curves.png", dpi=110)
    written.append("learning_curves.png")
    with thread_limits(args.threads):  # the re-embedding: simulate's threads
        figure = _selection_map(
            out, results, problem["estimator"], X, groups, state, args.task
        )
    if figure is not None:
        written.append("selection_map.png")
    elapsed = time.perf_counter() - start
    print(text)
    if problem["fidelity"]:
        print("\n" + fidelity)
    print(f"\nwrote {', '.join(str(out / name) for name in written)}")
    print(time_summary(results, elapsed))
    return 0


def _select(args, parser):
    from .annotation import select_for_annotation

    _check_device(args.device, parser)  # the rest is checked by the library
    strategy, how = args.strategy, args.strategy
    if args.batch != "top":
        from .query import get_strategy

        try:
            tags = get_query_tags(strategy)
        except ValueError:  # an unknown name: the library's message
            tags = None
        if tags is not None:
            if not tags.batch:
                parser.error(
                    f"--batch {args.batch} applies to strategies that rank "
                    f"scores (egl_pp), not to {args.strategy}"
                )
            strategy = get_strategy(strategy).set_params(batch=args.batch)
            how = f"{args.strategy} (batch {args.batch})"
    start = time.perf_counter()
    selection = select_for_annotation(
        args.images_dir,
        args.annotations,
        budget=args.budget,
        output_dir=args.output_dir,
        unannotated=args.unannotated,
        strategy=strategy,
        previous=args.model,
        image_size=args.image_size,
        as_gray=args.gray,
        crop=args.crop,
        max_epochs=args.epochs,
        pre_annotate=args.pre_annotate,
        device=args.device,
        n_jobs=args.n_jobs,
        n_threads=args.threads,
        random_state=args.seed,
        overwrite=args.overwrite,
        verbose=0 if args.no_progress else 1,
    )
    elapsed = time.perf_counter() - start
    by_box = selection.crop == "bbox"
    print(
        f"sk-eglpp select: {len(selection)} "
        f"{('person' if len(selection) == 1 else 'people') if by_box else 'images'} "
        f"selected with {how} by a model trained on {selection.n_trained_on} "
        f"annotated {'people' if by_box else 'images'} ({elapsed:.0f} s)"
    )
    width = max(len(str(f)) for f in selection.file_name[:10])
    box = "  bbox" if by_box else ""
    print(f"{'rank':>4}  {'file_name':<{width}}  {'image_id':>8}  utility{box}")
    for rec in selection.to_records()[:10]:
        shown = ""
        if box:
            shown = "  " + ("whole image" if rec["bbox"] is None else
                            " ".join(f"{v:.1f}" for v in rec["bbox"]))
        print(f"{rec['rank']:>4}  {rec['file_name']:<{width}}  "
              f"{rec['image_id']:>8}  {rec['utility']:{'<7' if box else ''}.4g}"
              f"{shown}")
    if len(selection) > 10:
        print(f"   ... {len(selection) - 10} more")
    files = selection.files
    print(f"wrote {files['csv']}, {files['coco']}, {files['contact_sheet']} and "
          f"the model {files['model']}")
    print(f"next round: annotate the images of {files['coco']}, then pass the "
          f"export as another ANNOTATIONS file with --model {args.output_dir}")
    return 0


def _make_synthetic(args, parser):
    from .datasets import make_synthetic_coco

    files = make_synthetic_coco(
        args.directory,
        n_images=args.images,
        n_annotated=args.annotated,
        image_size=args.image_size,
        random_state=args.seed,
    )
    print(
        f"sk-eglpp make-synthetic: wrote {args.images} images to {files['images']}, "
        f"the annotations of {args.annotated} to {files['annotations']} and the "
        f"ground truth of the other {args.images - args.annotated} to "
        f"{files['ground_truth']}"
    )
    print(
        f"next: sk-eglpp select {files['images']} {files['annotations']} "
        "--budget 20 --output-dir round-1"
    )
    return 0


def _merge_coco(args, parser):
    import json

    from .datasets import merge_coco_keypoints

    path = merge_coco_keypoints(args.inputs, args.output, images=args.images)
    merged = json.loads(path.read_text(encoding="utf-8"))
    print(
        f"sk-eglpp merge-coco: wrote {path} ({len(merged['images'])} images, "
        f"{len(merged['annotations'])} annotations)"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
