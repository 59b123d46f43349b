"""The ground layer: models, the converter, enums, errors, file helpers."""
