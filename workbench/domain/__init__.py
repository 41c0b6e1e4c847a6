"""The domain: records and their rules (model, validation, text), the case workflow, event payloads, instruments.

Imports nothing of the layers above it (store, service, reporting, ui).
"""
