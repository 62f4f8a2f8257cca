"""Tells clinic staff about events through a configurable webhook (STAFF_WEBHOOK_URL).

Sending happens in the background with retries; a failure is logged and never reaches, or
delays, the person chatting.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Set

import aiohttp

from settings import settings

logger = logging.getLogger(__name__)
_pending: Set[asyncio.Task] = set()  # keeps running sends referenced until they finish


async def send(payload: Dict[str, Any]) -> bool:
    """POSTs ``payload`` as JSON, retrying with back-off; True when the webhook accepted it."""
    config = settings()
    if not config.staff_webhook_url:
        logger.info("No STAFF_WEBHOOK_URL set; staff notification skipped: %s", payload.get("event"))
        return False
    timeout = aiohttp.ClientTimeout(total=config.webhook_timeout_seconds)
    for attempt in range(1, config.webhook_attempts + 1):
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(config.staff_webhook_url, json=payload) as response:
                    if response.status < 300:
                        return True
                    logger.warning("Staff webhook answered %s (attempt %s)", response.status, attempt)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("Staff webhook failed (attempt %s): %r", attempt, error)
        if attempt < config.webhook_attempts:
            await asyncio.sleep(0.5 * 2 ** (attempt - 1))
    # The event and its reference only: the payload holds the person's name and contact.
    logger.error(
        "Staff notification given up after %s attempts: %s %s",
        config.webhook_attempts,
        payload.get("event"),
        payload.get("reference", ""),
    )
    return False


def send_in_background(payload: Dict[str, Any]) -> asyncio.Task:
    task = asyncio.get_running_loop().create_task(send(payload))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return task
