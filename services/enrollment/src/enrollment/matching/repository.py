"""Match proposals (previews) in MongoDB: what an admin saw before publishing it."""

from __future__ import annotations

from pymongo import IndexModel

from enrollment.matching.proposal import Proposal
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

PROPOSALS = "match_proposals"
INDEXES = Indexes(PROPOSALS, [IndexModel([("program_id", 1), ("created_at", -1)])])


def to_document(proposal: Proposal) -> Document:
    document = proposal.model_dump(mode="python")
    document["_id"] = document.pop("proposal_id")
    return document


def from_document(document: Document) -> Proposal:
    fields = dict(document)
    fields["proposal_id"] = fields.pop("_id")
    return Proposal.model_validate(fields)


class ProposalRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[PROPOSALS]

    async def insert(self, proposal: Proposal) -> None:
        await self.collection.insert_one(to_document(proposal))

    async def load(self, proposal_id: str) -> Proposal | None:
        document = await self.collection.find_one({"_id": proposal_id})
        return from_document(document) if document is not None else None

    async def naming(self, employee_id: str) -> list[Proposal]:
        """Previews that list the employee (a scan: previews are few, and this runs on erasure)."""
        cursor = self.collection.find(
            {
                "$or": [
                    {"groups.members.employee_id": employee_id},
                    {"unmatched.employee_id": employee_id},
                ]
            }
        )
        return [from_document(d) async for d in cursor]

    async def save_groups(self, proposal: Proposal) -> None:
        groups = [g.model_dump(mode="python") for g in proposal.groups]
        await self.collection.update_one(
            {"_id": proposal.proposal_id}, {"$set": {"groups": groups}}
        )

    async def save_publication(self, proposal: Proposal) -> None:
        await self.collection.update_one(
            {"_id": proposal.proposal_id},
            {
                "$set": {
                    "status": proposal.status,
                    "published_group_ids": proposal.published_group_ids,
                }
            },
        )
