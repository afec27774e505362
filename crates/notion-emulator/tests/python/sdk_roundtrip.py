"""Drives the emulator with the official Python SDK (PyPI `notion-client`) and checks the answers.

Usage: python3 sdk_roundtrip.py BASE_URL   (e.g. http://127.0.0.1:3001)

It proves that the SDK's real requests (paths, parent shape, headers, body keys) pass the
emulator's checks: create a page in the Agent Activity Hub, find it by Session ID, move its Status.
"""

import sys
import uuid

from notion_client import APIResponseError, Client

DATA_SOURCE = "7163aa38-f3d9-444b-9674-bde61868bd2b"


def title_text(page):
    return "".join(item["plain_text"] for item in page["properties"]["Session ID"]["title"])


def main(base_url):
    notion = Client(auth="ntn_emulator_dev_token", base_url=base_url, notion_version="2025-09-03")
    session = f"sdk-{uuid.uuid4()}"

    source = notion.data_sources.retrieve(data_source_id=DATA_SOURCE)
    assert source["object"] == "data_source", source
    assert source["properties"]["Session ID"]["id"] == "title", source["properties"]["Session ID"]

    created = notion.pages.create(
        parent={"type": "data_source_id", "data_source_id": DATA_SOURCE},
        properties={
            "Session ID": {"title": [{"type": "text", "text": {"content": session}}]},
            "Agent Name": {"select": {"name": "sdk-agent"}},
            "Status": {"select": {"name": "In Progress"}},
            "Start Time": {"date": {"start": "2025-10-01T12:00:00Z"}},
            "Lines Generated": {"number": 42},
            "Work Description": {"rich_text": [{"text": {"content": "written by notion-client"}}]},
        },
    )
    assert created["object"] == "page", created
    assert title_text(created) == session
    assert created["url"].endswith(created["id"].replace("-", "")), created["url"]
    assert created["created_by"]["id"] == created["last_edited_by"]["id"]
    assert created["created_time"].endswith(":00.000Z"), created["created_time"]

    found = notion.data_sources.query(
        data_source_id=DATA_SOURCE,
        filter={"property": "Session ID", "title": {"equals": session}},
        page_size=10,
    )
    assert found["object"] == "list" and found["has_more"] is False, found
    assert [page["id"] for page in found["results"]] == [created["id"]], found

    updated = notion.pages.update(page_id=created["id"], properties={"Status": {"select": {"name": "Completed"}}})
    assert updated["properties"]["Status"]["select"]["name"] == "Completed", updated["properties"]["Status"]
    assert updated["properties"]["Lines Generated"]["number"] == 42, "omitted properties are kept"

    again = notion.pages.retrieve(page_id=created["id"].replace("-", ""))
    assert again["properties"]["Status"]["select"]["name"] == "Completed"

    try:
        notion.pages.update(page_id=created["id"], properties={"Nope": {"rich_text": []}})
        raise AssertionError("an unknown property was accepted")
    except APIResponseError as error:
        assert error.status == 400 and error.code == "validation_error", (error.status, error.code)
        assert "Nope is not a property that exists." in str(error), str(error)

    print("sdk roundtrip ok:", created["id"])


if __name__ == "__main__":
    main(sys.argv[1])
