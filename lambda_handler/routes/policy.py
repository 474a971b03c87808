"""`/policy`: the decision policy this instance applies, and the sizes of the lists it names."""

from __future__ import annotations

from fastapi import APIRouter

from lambda_handler import service
from lambda_handler.deps import PolicyDep
from lambda_handler.schemas import PolicyResponse

router = APIRouter(tags=["policy"])


@router.get("/policy", response_model=PolicyResponse, summary="The decision policy being applied")
async def policy(active: PolicyDep) -> PolicyResponse:
    return service.policy_info(active)
