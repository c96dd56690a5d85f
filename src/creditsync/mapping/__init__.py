"""The declarative mapping language: a department's record → the municipal standard field codes.

A mapping file ``mappings/<department>/<category>.yaml``::

    version: 1
    category: penalty
    source_key: decision_no
    fields:
      CF_XDR_MC: {path: party_name, transforms: [trim]}
      CF_NR_FK: {path: fine_yuan, transforms: [yuan_to_wan]}

is validated into typed models (unknown keys are errors), never evaluated as code. The language is
documented in ``docs/mapping-language.md``; the JSON Schema comes from :func:`mapping_json_schema`.

Public API::

    load_mapping(path) -> MappingSpec          parse_mapping(dict, source_name) -> MappingSpec
    load_preset(name) -> MappingSpec           available_presets() -> list[str]
    MappingSpec.apply(raw, *, code_lookup=None) -> MappingResult(data, errors, source_key)
    mapping_json_schema() -> dict              write_json_schema(path)
    custom_transform(name) / custom_source(name): register escape-hatch functions
"""

from creditsync.mapping import legacy as _legacy  # noqa: F401  (registers the presets' custom sources)
from creditsync.mapping._values import TransformError
from creditsync.mapping.codes import CodeLookup, default_code_lookup
from creditsync.mapping.compiled import MappingResult, MappingSpec
from creditsync.mapping.custom import custom_source, custom_transform
from creditsync.mapping.document import CURRENT_VERSION, MappingDocument
from creditsync.mapping.json_schema import mapping_json_schema, write_json_schema
from creditsync.mapping.loader import available_presets, load_mapping, load_preset, parse_mapping
from creditsync.mapping.transforms import TRANSFORM_NAMES

__all__ = [
    "CURRENT_VERSION",
    "TRANSFORM_NAMES",
    "CodeLookup",
    "MappingDocument",
    "MappingResult",
    "MappingSpec",
    "TransformError",
    "available_presets",
    "custom_source",
    "custom_transform",
    "default_code_lookup",
    "load_mapping",
    "load_preset",
    "mapping_json_schema",
    "parse_mapping",
    "write_json_schema",
]
