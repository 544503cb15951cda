"""pydantic-core: validate and serialise 200 records against one shared schema."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["pydantic_core._pydantic_core"], "unit": "validate+dump 200 records"}

from pydantic_core import SchemaSerializer, SchemaValidator, core_schema


def shared(seed):
    schema = core_schema.list_schema(core_schema.typed_dict_schema({
        "id": core_schema.typed_dict_field(core_schema.int_schema()),
        "name": core_schema.typed_dict_field(core_schema.str_schema()),
        "score": core_schema.typed_dict_field(core_schema.float_schema()),
    }))
    data = [{"id": str(n), "name": f"n{n}-{seed}", "score": n / 3} for n in range(200)]
    return SchemaValidator(schema), SchemaSerializer(schema), data


def work(shared, local, i):
    validator, serializer, data = shared
    records = validator.validate_python(data)
    return len(serializer.to_json(records)), records[i % 200]["id"]
