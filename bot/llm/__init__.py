"""The LLM layer: the only place that talks to the model endpoint.

    client.py      LLMClient: AsyncOpenAI + one retry policy + budget; the only `openai` import
    wire.py        the Chat Completions body as we read it: validated, capped, plain data
    completion.py  Completion / ToolCall / Usage as plain data, and the ChatModel Protocol
    usage.py       the Budget the client checks and books (the ledger: bot.services.usage)
    structured.py  AssistantResult and proposals (pydantic), tools, parsers of a model turn
    citations.py   which numbered passages a grounded answer or draft cites
    prompts.py     prompts/*.md loaded by name, variables checked at start, data sections
    errors.py      the owner-facing error tree of all of the above

Nothing is imported here, so ``bot.llm.structured`` and friends load without the SDK.
"""
