# The multi-tenant Quick Start of the strands-s3-vectors-memory README, unchanged
# except for its import line (strands_s3_vectors_memory -> strands_vector_memory.compat)
# and a third turn (a new conversation) like the single-tenant one's.
# Run it offline with `python examples/seed_readme/run_offline.py multi`.
import os
from strands import Agent
from strands.models import BedrockModel
from strands_vector_memory.compat import MultiTenantS3VectorMemory, S3VectorMemoryPlugin

BASE_PROMPT = """You are a helpful assistant.

{memory_context}

Use prior context naturally in your responses."""

store  = MultiTenantS3VectorMemory(
    bucket_name  = os.environ["S3_VECTOR_BUCKET_NAME"],
    tvm_role_arn = os.environ["S3_VECTOR_TVM_ROLE_ARN"],
)
plugin = S3VectorMemoryPlugin(store=store, base_prompt=BASE_PROMPT)
agent  = Agent(
    model         = BedrockModel(),
    tools         = [plugin.memory_tool],  # optional: mid-turn recall on demand
    plugins       = [plugin],
    system_prompt = BASE_PROMPT,
)

tenant_context = {
    "tenantId":   "tenant-001",
    "tenantName": "Acme Corp",
}

# Mid-conversation turn
agent("Our Q4 budget is $2M.", invocation_state={
    "tenant_context":  tenant_context,
    "user_id":         "user-456",
    "conversation_id": "conv-001",
    "end_session":     False,
})

# Final turn — plugin summarizes and stores to S3 Vectors in a background thread
agent("Thanks, bye.", invocation_state={
    "tenant_context":  tenant_context,
    "user_id":         "user-456",
    "conversation_id": "conv-001",
    "end_session":     True,
})

# Next session — the plugin recalls what this tenant's user said
agent("What is our Q4 budget?", invocation_state={
    "tenant_context":  tenant_context,
    "user_id":         "user-456",
    "conversation_id": "conv-002",
    "end_session":     False,
})
