"""The guardrail: every AI action is a proposal until the owner approves it (approval), its
payloads, the AI turn and the rule assistant that make them, and the link check on what they
show."""
