"""Docstrings of the public API: every public function, class and method in ``gis``, ``layers`` and
``api.workflows`` says what it does, and the entry points a user calls are written in numpydoc
(parameters with their units, what comes back), checked by numpydoc's own validator."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PACKAGES = ("gis", "layers", "api.workflows")

#: the entry points, written in numpydoc
ENTRY_POINTS = [
    "api.workflows.views.compute_views",
    "api.workflows.coverage.compute_coverage",
    "api.workflows.coverage.coverage_model",
    "api.workflows.risk.compute_risk",
    "api.workflows.grids.plan_grids",
    "api.workflows.placement.place",
    "api.workflows.placement.accept",
    "api.workflows.settings.change_settings",
    "api.workflows.whatif.WhatIf.set_camera",
    "gis.visibility.visible",
    "gis.footprint.resolve",
    "gis.footprint.level_ranges",
    "gis.coverage.CoverageModel.set_camera",
    "gis.coverage.CoverageModel.grid_figures",
    "gis.coverage.CoverageModel.target_coverage",
    "gis.coverage.CoverageModel.blind_spots",
    "gis.risk.grade_all",
    "gis.solvers.solve_mclp",
    "gis.solvers.celf",
    "gis.crs.require_metric",
    "gis.partition.grid_index",
    "gis.streets.street_units",
    "gis.coords.wgs84_to_gcj02",
    "layers.store.open_workspace",
    "layers.workspace.copy_workspace",
    "layers.validate.validate",
]
#: numpydoc's checks that apply here: a summary, every parameter documented and described, no
#: parameter that does not exist, a Returns section where something is returned
CHECKS = {"GL08", "SS01", "PR01", "PR02", "PR07", "RT01"}


def _modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            yield importlib.import_module(info.name)


def _public(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield f"{module.__name__}.{name}", obj
        elif inspect.isclass(obj):
            yield f"{module.__name__}.{name}", obj
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                    target = member.fget if isinstance(member, property) else member
                    yield f"{module.__name__}.{name}.{attr}", (obj, attr, target)


def test_every_public_name_says_what_it_does():
    missing = []
    for module in _modules():
        for qualname, obj in _public(module):
            if isinstance(obj, tuple):  # a method: its own docstring, or the one it overrides
                cls, attr, target = obj
                doc = target.__doc__ or next((getattr(base, attr).__doc__ for base in cls.__mro__[1:]
                                              if getattr(getattr(base, attr, None), "__doc__", None)), None)
            else:
                doc = obj.__doc__
                if inspect.isclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
                    doc = None  # the signature a dataclass writes for itself is not a description
            if not (doc or "").strip():
                missing.append(qualname)
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


@pytest.mark.parametrize("qualname", ENTRY_POINTS)
def test_entry_points_are_in_numpydoc(qualname):
    errors = [f"{code}: {message}" for code, message in numpydoc_validate.validate(qualname)["errors"]
              if code in CHECKS]
    assert not errors, errors


def test_the_examples_in_docstrings_run():
    import doctest

    failed, tried = 0, 0
    for module in _modules():
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        failed, tried = failed + result.failed, tried + result.attempted
    assert tried >= 4 and not failed, f"{failed} of {tried} examples failed"
