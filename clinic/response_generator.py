"""Fills the clinic's details into every response, inside the Rasa server.

endpoints.yml names this class as the `nlg`. Responses in domain.yml and the FAQ answers can
use {clinic_name}, {clinic_phone}, {emergency_number}, ... (see ``Clinic.placeholders``);
the values come from clinic/details.yml. Running in the Rasa server, not the action server,
means these replies never wait for, or fail with, the action server.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from clinic import load_clinic


class ClinicResponseGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        domain: Optional[Domain] = None,
    ) -> None:
        # Rasa replaces `responses` with the loaded model's once the model is ready.
        super().__init__(domain.responses if domain else {})
        self._clinic_values = load_clinic().placeholders()

    def generate_from_slots(
        self,
        utter_action: Text,
        filled_slots: Dict[Text, Any],
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        # Values passed by a custom action win over the clinic's defaults.
        values = {**self._clinic_values, **kwargs}
        return super().generate_from_slots(utter_action, filled_slots, output_channel, **values)
