"""Match proposals (previews) in MongoDB: what an admin saw before publishing it."""

from __future__ import annotations

from typing import Any

from pymongo import IndexModel

from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

PROPOSALS = "match_proposals"
INDEXES = Indexes(PROPOSALS, [IndexModel([("program_id", 1), ("created_at", -1)])])


class ProposalRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[PROPOSALS]

    async def insert(self, proposal: Document) -> None:
        await self.collection.insert_one(proposal)

    async def load(self, proposal_id: str) -> Document | None:
        return await self.collection.find_one({"_id": proposal_id})

    async def naming(self, employee_id: str) -> list[Document]:
        """Previews that list the employee (a scan: previews are few, and this runs on erasure)."""
        cursor = self.collection.find(
            {
                "$or": [
                    {"groups.members.employee_id": employee_id},
                    {"unmatched.employee_id": employee_id},
                ]
            }
        )
        return await cursor.to_list()

    async def mark(self, proposal_id: str, fields: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": proposal_id}, {"$set": fields})
