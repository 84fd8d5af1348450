"""Sphinx configuration of the sk_eglpp documentation.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    sphinx-build -W -b html docs docs/_build/html

The build executes every ``examples/plot_*.py`` script (sphinx-gallery) and
regenerates ``docs/api.rst`` from the ``__all__`` lists of the package, so the
API reference always lists exactly the public names (see ``API_GROUPS``).
When the LSPET data set is beside the repository (``../shared/data/lspet``, or
``SK_EGLPP_DOCS_LSPET``), it also runs one labelling round on 100 of its
photographs for the user guide's contact sheet, into the git-ignored
``docs/generated/lspet_round/`` (about 20 s the first time); without the data
the guide says where the picture would be.

Intersphinx is off by default: the inventories of Python, NumPy, SciPy,
scikit-learn, PyTorch and skorch live on the internet, and an unreachable
inventory is a warning, which ``-W`` turns into a failed build on an offline
machine (CI has no internet). Set ``SK_EGLPP_DOCS_INTERSPHINX=1`` to link to
those projects when building with network access.
"""

import importlib
import inspect
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

# The gallery runs on small CPUs next to other jobs: one thread per numerical
# library unless the caller says otherwise (set before torch is imported).
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sk_eglpp  # noqa: E402

# -- project -----------------------------------------------------------------

project = "sk_eglpp"
author = "sk_eglpp developers"
copyright = "sk_eglpp developers, BSD-3-Clause"
release = sk_eglpp.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
default_role = "literal"
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc ----------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
# numpydoc renders Parameters / Returns / ...; autosummary pages list the
# methods, so numpydoc must not add a second members table (duplicate objects).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Known types in parameter specifications (the aliases below and numpydoc's
# defaults) become references: links once intersphinx is on, plain text
# offline. Other words stay plain; _escape_types (below) keeps names such as
# ``n_features_in_,`` or ``*out`` in a type from being read as reST markup.
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "DataFrame": "pandas.DataFrame",
    "Module": "torch.nn.Module",
    "Tensor": "torch.Tensor",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "Figure": "matplotlib.figure.Figure",
    "Axes": "matplotlib.axes.Axes",
}
# words of a type that are not aliases above stay plain text
numpydoc_xref_ignore = "all"

# -- intersphinx (opt-in, see the module docstring) ---------------------------

_INTERSPHINX = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "torch": ("https://docs.pytorch.org/docs/stable/", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
    "matplotlib": ("https://matplotlib.org/stable/", None),
}
if os.environ.get("SK_EGLPP_DOCS_INTERSPHINX", "0") not in ("", "0"):
    intersphinx_mapping = _INTERSPHINX
    intersphinx_timeout = 10
else:
    intersphinx_mapping = {}
    # numpydoc's default type aliases use :ref: / :term: roles into the Python
    # and NumPy inventories ("bool", "array-like"); unresolved, those are
    # warnings. Offline, such words stay plain text.
    from numpydoc.xref import DEFAULT_LINKS

    for _word, _link in DEFAULT_LINKS.items():
        if _link.startswith((":ref:", ":term:")):
            numpydoc_xref_aliases.setdefault(_word, _word)

# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sk_eglpp",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sk_eglpp": None},
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sk_eglpp {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False

# -- API reference generated from __all__ -------------------------------------

#: (title, module, introduction) of every section of ``api.rst``, in order.
#: A section lists the module's ``__all__``; names exported by ``sk_eglpp``
#: but by no listed module land in a last "Other" section, so nothing public
#: is ever left out. A module that does not exist (yet) is skipped.
API_GROUPS = [
    (
        "Query strategies",
        "sk_eglpp.query",
        "Callables in modAL's query-strategy convention, each with a default "
        "instance. Every strategy has ``score`` (utility of every pool sample), "
        "``select`` (indices of the most informative samples) and ``__call__`` "
        "(what ``ActiveLearner.query`` calls). See :ref:`strategies`.",
    ),
    (
        "Active learner",
        "sk_eglpp.learner",
        "modAL's ``ActiveLearner`` with ``teach`` repaired for scikit-learn >= 1.8. "
        "See :ref:`modal`.",
    ),
    (
        "Models",
        "sk_eglpp.models",
        "The stacked-hourglass network, its skorch regressor and the bootstrap "
        "ensemble of linear models behind the closed form of Eq. 6.",
    ),
    (
        "Data sets",
        "sk_eglpp.datasets",
        "The embedded synthetic pose data, readers of the LSP / LSPET / MPII "
        "annotation files, COCO keypoints reading and writing, and the keypoint "
        "<-> heatmap conversions and the peaks of a heatmap.",
    ),
    (
        "Annotation rounds",
        "sk_eglpp.annotation",
        "The job of ``sk-eglpp select``: which of your unannotated images "
        "should be annotated next. See :ref:`annotation`.",
    ),
    ("Metrics", "sk_eglpp.metrics", "PCK and PCKh and their scikit-learn scorers."),
    (
        "Neighbour probabilities",
        "sk_eglpp.neighbors",
        "The conditional probabilities of paper Eq. 8 between pool and labelled "
        "embeddings, and their top-K.",
    ),
    (
        "Gradient lengths",
        "sk_eglpp.gradients",
        "Squared gradient norms of the loss for (input, target) pairs, the inner "
        "term of paper Eq. 7.",
    ),
    (
        "Simulation",
        "sk_eglpp.simulation",
        "The active-learning protocol of the paper's Sec. 4: cycles x runs x "
        "strategies, the Table-1 report and plots, the resumable store and its "
        "read API, the typed errors, and the experiments of ``sk-eglpp "
        "simulate`` as problem builders (their presets).",
    ),
    (
        "Fidelity diagnostic",
        "sk_eglpp.diagnostics",
        "How well a strategy's utilities track the true squared gradient "
        "lengths and errors of a labelled pool. See :ref:`selection-benchmark`.",
    ),
    ("Command line", "sk_eglpp.cli", "The entry point of the ``sk-eglpp`` program."),
]

#: modules whose names are documented under ``sk_eglpp`` (top level) because
#: users import them from there
_TOP_LEVEL_MODULES = {"sk_eglpp.learner"}

_HEADER = """\
.. This file is generated by docs/conf.py from the __all__ lists of sk_eglpp
   (see API_GROUPS there); edits here are overwritten by the next build.

.. _api:

=============
API reference
=============

Everything below is importable from its module; the names listed in
``sk_eglpp.__all__`` are also importable from ``sk_eglpp`` itself
(``from sk_eglpp import egl_pp, HourglassRegressor``).
"""


def _import_optional(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def _is_strategy_class(obj):
    base = getattr(sk_eglpp, "BaseQueryStrategy", None)
    return inspect.isclass(obj) and base is not None and issubclass(obj, base)


#: the presets of the simulation's problem builders: (option, what, builder)
_PRESETS = {
    "POSE_PRESETS": (
        "sk-eglpp simulate --preset",
        "data, network, protocol, strategies",
        "pose_problem",
    ),
    "TOY_PRESETS": (
        "sk-eglpp simulate --task toy-regression --preset",
        "data, protocol, strategies",
        "toy_problem",
    ),
}


def _data_entry(name, obj):
    """A ``py:data`` description of a module-level object (no docstring)."""
    base = getattr(sk_eglpp, "BaseQueryStrategy", None)
    if base is not None and isinstance(obj, base):
        cls = type(obj).__name__
        text = (
            f"Default instance ``{obj!r}`` of :class:`{cls}`. "
            f'``get_strategy("{name}")`` returns a fresh copy to configure.'
        )
    elif isinstance(obj, dict) and name in _PRESETS:
        option, what, builder = _PRESETS[name]
        keys = ", ".join(f"``{k!r}``" for k in obj)
        text = (
            f"Mapping of preset name (``{option}``) to its settings ({what}); "
            f"keys: {keys}. See :func:`{builder}`."
        )
    elif isinstance(obj, dict):
        keys = ", ".join(f"``{k!r}``" for k in obj)
        text = (
            "Mapping of name to the default instance of every built-in "
            f"strategy; keys: {keys}."
        )
    elif hasattr(obj, "_score_func"):
        text = f"A scikit-learn scorer, ``scorer(estimator, X, y)``: ``{obj!r}``."
    elif len(repr(obj)) <= 100:
        text = f"Module-level constant ``{obj!r}``."
    else:
        text = f"Module-level object of type ``{type(obj).__name__}``."
    return [f".. data:: {name}", "", f"   {text}", ""]


def _section(title, module_name, intro, names, module):
    lines = [title, "=" * len(title), ""]
    current = "sk_eglpp" if module_name in _TOP_LEVEL_MODULES else module_name
    lines += [f".. currentmodule:: {current}", ""]
    if intro:
        lines += [intro, ""]
    objects = [(name, getattr(module, name)) for name in names]
    strategies = [n for n, o in objects if _is_strategy_class(o)]
    others = [n for n, o in objects if _kind(o) != "data" and n not in strategies]
    data = [(n, o) for n, o in objects if _kind(o) == "data"]
    for template, members in (("strategy", strategies), ("", others)):
        if not members:
            continue
        lines += [".. autosummary::", "   :toctree: generated/"]
        if template:
            lines += [f"   :template: {template}"]
        lines += ["", *(f"   {name}" for name in members), ""]
    if data:
        lines += ["Module-level objects:", ""]
        for name, obj in data:
            lines += _data_entry(name, obj)
    return lines


def _api_rst():
    lines = [_HEADER]
    covered = set()
    missing_doctest = []
    for title, module_name, intro in API_GROUPS:
        module = _import_optional(module_name)
        if module is None:
            continue
        names = [
            n for n in getattr(module, "__all__", []) if not n.startswith("__")
        ]
        if not names:
            continue
        covered.update(names)
        for name in names:
            obj = getattr(module, name)
            if _kind(obj) != "data" and ">>>" not in (inspect.getdoc(obj) or ""):
                missing_doctest.append(f"{module_name}.{name}")
        lines += _section(title, module_name, intro, names, module)
    rest = [
        n for n in sk_eglpp.__all__ if n not in covered and not n.startswith("__")
    ]
    if rest:
        lines += _section("Other", "sk_eglpp", "", rest, sk_eglpp)
    return "\n".join(lines).rstrip() + "\n", missing_doctest


#: "sk_eglpp.X" -> "sk_eglpp.<module>.X" for every name documented in a
#: submodule and re-exported at the top level, so that references written
#: with the short path (``:class:`sk_eglpp.HourglassRegressor```) resolve.
_ALIASES = {}


def _collect_aliases():
    for _, module_name, _ in API_GROUPS:
        if module_name in _TOP_LEVEL_MODULES:
            continue
        module = _import_optional(module_name)
        for name in getattr(module, "__all__", []) if module else []:
            if getattr(sk_eglpp, name, None) is getattr(module, name):
                _ALIASES[f"sk_eglpp.{name}"] = f"{module_name}.{name}"


def _resolve_alias(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    head, _, rest = target.partition(".")
    head = f"{head}.{rest.partition('.')[0]}" if rest else head
    canonical = _ALIASES.get(head)
    if canonical is None:
        return None
    new_target = canonical + target[len(head) :]
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], new_target, node, contnode
    )


def _write_api_rst():
    _collect_aliases()
    text, missing_doctest = _api_rst()
    path = DOCS / "api.rst"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return missing_doctest


_MISSING_DOCTEST = _write_api_rst()


def _write_cli_help():
    """``sk-eglpp --help`` and each command's help, for the user guide."""
    import argparse

    cli = _import_optional("sk_eglpp.cli")
    parser = cli.build_parser() if hasattr(cli, "build_parser") else None
    if parser is None:
        text = "(the sk-eglpp command line is not available in this build)\n"
    else:
        parts = [f"$ {parser.prog} --help", parser.format_help()]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    parts += [f"$ {parser.prog} {name} --help", sub.format_help()]
        text = "\n".join(parts)
    out = DOCS / "generated" / "cli_help.txt"
    out.parent.mkdir(exist_ok=True)
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")


_write_cli_help()


#: The LSPET folder (``joints.mat``, ``images/``) beside the repository, or
#: the one named by SK_EGLPP_DOCS_LSPET ("0": do not draw the figure).
_LSPET = Path(
    os.environ.get("SK_EGLPP_DOCS_LSPET") or ROOT.parent / "shared" / "data" / "lspet"
)
#: what the user guide includes: the contact sheet's figure, or a note
_LSPET_INCLUDE = DOCS / "generated" / "lspet_round.inc"

_LSPET_FIGURE = """\
.. figure:: /generated/lspet_round/round-1/contact_sheet.png
   :alt: the contact sheet of a labelling round on LSPET photographs
   :width: 100%

   ``round-1/contact_sheet.png`` of the round above on the first 100 LSPET
   photographs, drawn when this page was built. Each person is shown as the
   model saw it, the square around its box (olive), with the skeleton
   predicted by the round's network after 20 epochs on 80 photographs: rough,
   as a first round's are.
"""

_LSPET_NOTE = """\
.. note::

   The contact sheet of the round above on the first 100 LSPET photographs
   is drawn here when the documentation is built with the LSPET folder at
   ``shared/data/lspet`` beside the repository (or at the folder named by the
   environment variable ``SK_EGLPP_DOCS_LSPET``); this build did not find it
   {where}. The round and its picture would go to
   ``docs/generated/lspet_round/``, which git ignores: nothing derived from
   the data set is committed. The commands above draw the same sheet
   anywhere.
"""


def _write_lspet_round():
    """One labelling round on 100 LSPET photographs, for the user guide.

    The commands of the user guide's "Real photographs" section, run into
    ``docs/generated/lspet_round/`` (git-ignored): convert the first 100
    images (80 annotated, 20 with person boxes only), select 8 people with
    ``crop="bbox"``. A later build reuses the saved model (the round's
    resume), so only the first build trains (about 20 s on one core).
    """
    import warnings

    if os.environ.get("SK_EGLPP_DOCS_LSPET") == "0" or not (
        _LSPET / "joints.mat"
    ).is_file():
        text = _LSPET_NOTE.format(
            where="(SK_EGLPP_DOCS_LSPET=0)"
            if os.environ.get("SK_EGLPP_DOCS_LSPET") == "0"
            else f"at ``{_LSPET}``"
        )
    else:
        from sk_eglpp import select_for_annotation
        from sk_eglpp.datasets import leeds_to_coco

        work = DOCS / "generated" / "lspet_round"
        files = leeds_to_coco(_LSPET, work / "lspet.json", indices=range(100),
                              n_annotated=80, unannotated=work / "todo.txt",
                              person_boxes=True)
        with warnings.catch_warnings():
            # the default EGL++ lowers its perplexity for 80 labelled people
            warnings.filterwarnings("ignore", "perplexity=20 is not well below")
            select_for_annotation(
                files["images"], files["annotations"],
                unannotated=files["unannotated"], crop="bbox", budget=8,
                max_epochs=20, output_dir=work / "round-1", verbose=0,
                overwrite=True,  # the build's own folder, whatever wrote it last
            )
        text = _LSPET_FIGURE
    if not _LSPET_INCLUDE.exists() or _LSPET_INCLUDE.read_text("utf-8") != text:
        _LSPET_INCLUDE.parent.mkdir(exist_ok=True)
        _LSPET_INCLUDE.write_text(text, encoding="utf-8")


_write_lspet_round()


def _report_missing_doctests(app):
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    for name in _MISSING_DOCTEST:
        logger.warning(
            "public name %s has no doctest (>>>) in its docstring; every public "
            "object needs a short example.",
            name,
        )


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing methods (set_{fit,score,...}_request,
    # get_metadata_routing) are scikit-learn's API, documented there.
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


_TYPED_SECTIONS = {
    "Parameters",
    "Other Parameters",
    "Returns",
    "Yields",
    "Receives",
    "Attributes",
}
_STAR = re.compile(r"(?<!\\)\*")
_TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=[,)\]])")


def _escape_types(app, what, name, obj, options, lines):
    """Escape reST markup characters in numpydoc type specifications.

    numpydoc copies the text after ``name :`` into reST, so a type such as
    ``ndarray of shape (n_features_in_,)`` reads as a hyperlink reference and
    ``Tensor of shape (m, *out)`` as unterminated emphasis. Runs before
    numpydoc and touches only the "name : type" lines of typed sections.
    """
    section = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped and nxt and set(nxt) == {"-"} and len(nxt) >= len(stripped):
            section = stripped if stripped in _TYPED_SECTIONS else None
            continue
        if section is None or line[:1].isspace() or " : " not in line:
            continue
        head, _, spec = line.partition(" : ")
        spec = _TRAILING_UNDERSCORE.sub(r"\1\\_", _STAR.sub(r"\\*", spec))
        lines[i] = f"{head} : {spec}"


def _check_example_figure(app, docname, source):
    """Every gallery example must end with a figure on its page."""
    if not docname.startswith("auto_examples/plot_"):
        return
    if ".. image-sg::" not in source[0] and ".. image::" not in source[0]:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "example %s produced no figure; every gallery example must draw one.",
            docname,
            location=docname,
        )


def setup(app):
    app.connect("source-read", _check_example_figure)
    app.connect("builder-inited", _report_missing_doctests)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _resolve_alias)
    # before numpydoc's own handler (priority 500)
    app.connect("autodoc-process-docstring", _escape_types, priority=400)
