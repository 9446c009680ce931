"""The public results pages: what is shown, what never is, search, filters and paging."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from server.directory.models import Department
from server.extensions import db
from server.planning.models import TaskCooperation
from tests.integration.publication.conftest import publish
from tests.support import factories
from tests.support.field import FieldWorld, complete_inspection, field_world
from tests.support.results import approve


def test_the_public_entrance_links_to_the_results(client: FlaskClient) -> None:
    assert 'href="/results"' in client.get("/public/").get_data(as_text=True)


def test_published_results_are_listed_with_task_departments_date_category_and_draw(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    world = published(categories=("not_disclosed", "corrected"), summary="年度报告未按时公示，已责令改正")
    waiting = field_world(name="高平市尚未公示有限公司")
    approve(waiting.inspection)  # approved, not yet published
    never = field_world(name="高平市不予公示有限公司")
    approve(never.inspection, publish=False, withhold_status="approved")

    resp = client.get("/results")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert world.target.name in html and world.target.code in html
    assert world.task.name in html and world.department.name in html
    assert "2025-06-03" in html  # the inspection date (checked_on)
    assert "未按规定公示应当公示的信息；发现问题已责令改正" in html
    assert f'href="/public/draws/{world.draw.id}"' in html
    assert "高平市尚未公示有限公司" not in html and "高平市不予公示有限公司" not in html
    assert "第1/1页，共1项结果" in html

    detail = client.get(f"/results/{world.inspection.id}").get_data(as_text=True)
    assert "年度报告未按时公示，已责令改正" in detail
    assert f'href="/public/draws/{world.draw.id}"' in detail
    assert client.get(f"/results/{waiting.inspection.id}").status_code == 404
    assert client.get(f"/results/{never.inspection.id}").status_code == 404
    assert client.get("/results/999999").status_code == 404
    # In English the kind of target reads as in the directory, not as a plan's scope ("enterprises").
    client.set_cookie("lang", "en")
    english = client.get(f"/results/{world.inspection.id}").get_data(as_text=True)
    assert "<dd>Enterprise</dd>" in english


def test_public_pages_show_no_inspector_photo_signature_or_personal_data_of_individuals(
    client: FlaskClient,
) -> None:
    enterprise = field_world(name="高平市泫氏商贸有限公司")
    complete_inspection(enterprise, client)  # photos and signatures exist on the version
    publish(enterprise)
    individual = field_world(name="高平市张记小吃店", target_kind="individual")
    publish(individual)

    pages = [
        client.get("/results").get_data(as_text=True),
        client.get(f"/results/{enterprise.inspection.id}").get_data(as_text=True),
        client.get(f"/results/{individual.inspection.id}").get_data(as_text=True),
        client.get("/results/feed.json").get_data(as_text=True),
    ]
    version = enterprise.inspection.latest_version
    assert version is not None
    hashes = [p["sha256"] for p in version.record["photos"]] + [
        s["png_sha256"] for s in version.record["signatures"]
    ]
    for html in pages:
        for inspector in (*enterprise.inspectors.values(), *individual.inspectors.values()):
            assert inspector.name not in html and inspector.code not in html
        for sha in hashes:
            assert sha not in html
        assert "/blobs/" not in html
    # The enterprise's registration data is public; the individual operator's person is not.
    assert "赵某" in pages[1] and "高平市泫氏街道建设路1号" in pages[1]
    assert "赵某" not in pages[2] and "建设路" not in pages[2]
    assert "高平市张记小吃店" in pages[2] and individual.target.code in pages[2]
    feed = client.get("/results/feed.json").json
    by_name = {item["target"]["name"]: item for item in feed["items"]}
    assert "legal_representative" not in by_name["高平市张记小吃店"]["target"]
    assert "address" not in by_name["高平市张记小吃店"]["target"]
    assert by_name["高平市泫氏商贸有限公司"]["target"]["legal_representative"] == "赵某"


def test_search_by_chinese_fragment_and_credit_code_prefix(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    food = published(name="高平市鑫源食品有限公司")
    hardware = published(name="高平市永盛五金商店")
    html = client.get("/results?q=鑫源食品").get_data(as_text=True)
    assert food.target.name in html and hardware.target.name not in html
    html = client.get("/results?q=五金").get_data(as_text=True)
    assert hardware.target.name in html and food.target.name not in html
    html = client.get(f"/results?q={food.target.code[:17]}").get_data(as_text=True)
    assert food.target.name in html and hardware.target.name not in html
    html = client.get(f"/results?q={food.target.code.lower()}").get_data(as_text=True)
    assert food.target.name in html
    html = client.get("/results?q=不存在的名称").get_data(as_text=True)
    assert "没有符合条件的检查结果" in html
    assert client.get("/results?q=%25%25").status_code == 200  # punctuation only: no match, no error


def test_filters_by_task_and_by_initiating_or_cooperating_department(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    first = published(name="高平市甲有限公司")
    second = published(name="高平市乙有限公司")
    helper = factories.department(name="高平市住房和城乡建设局")
    db.session.add(TaskCooperation(task_id=second.task.id, department_id=helper.id))
    db.session.commit()

    html = client.get(f"/results?task={first.task.id}").get_data(as_text=True)
    assert "高平市甲有限公司" in html and "高平市乙有限公司" not in html
    html = client.get(f"/results?department={helper.id}").get_data(as_text=True)
    assert "高平市乙有限公司" in html and "高平市甲有限公司" not in html
    assert "高平市住房和城乡建设局" in html
    html = client.get(f"/results?department={first.department.id}").get_data(as_text=True)
    assert "高平市甲有限公司" in html and "高平市乙有限公司" not in html
    listing = client.get("/results").get_data(as_text=True)
    for dept in (first.department, second.department, helper):
        assert f'<option value="{dept.id}"' in listing
    assert db.session.get(Department, helper.id) is not None


def test_paging_keeps_the_filters(client: FlaskClient, published: Callable[..., FieldWorld]) -> None:
    for n in range(21):
        published(name=f"高平市分页测试{n:02d}有限公司")
    page1 = client.get("/results?q=分页测试").get_data(as_text=True)
    assert "第1/2页，共21项结果" in page1
    assert page1.count("分页测试") >= 20
    assert "/results?page=2&amp;q=" in page1
    page2 = client.get("/results?q=分页测试&page=2").get_data(as_text=True)
    assert "第2/2页，共21项结果" in page2
    assert "高平市分页测试00有限公司" in page2  # newest first: the first one published is last
    assert client.get("/results?page=abc").status_code == 200


def test_numbers_too_large_for_an_id_answer_404_or_422_never_500(client: FlaskClient) -> None:
    huge = "99999999999999999999"
    for url in (
        f"/results/{huge}",
        f"/public/draws/{huge}",
        f"/public/draws/{huge}/snapshot.csv",
        f"/public/draws/{huge}/drawn.csv",
        f"/api/v1/targets/{huge}",
    ):
        assert client.get(url).status_code == 404, url
    for arg in ("task", "department"):
        resp = client.get(f"/results/feed.json?{arg}={huge}")
        assert resp.status_code == 422 and arg in resp.json["errors"]
    resp = client.get(f"/results/feed.json?updated_since=2025-01-01&after={huge}")
    assert resp.status_code == 422 and "after" in resp.json["errors"]
    assert client.get(f"/public/draws?page={huge}").status_code == 200


def test_a_page_past_the_end_shows_the_last_page(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    published(name="高平市翻页测试有限公司")
    for url in ("/results?page=50", "/public/draws?page=50"):
        html = client.get(url).get_data(as_text=True)
        assert "第1/1页" in html, url
        assert "没有符合条件" not in html, url


def test_public_pages_describe_themselves_for_search_engines_and_link_previews(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    import re

    world = published(name="高平市描述测试有限公司")
    descriptions = {}
    for url in (
        "/",
        "/public/",
        "/results",
        f"/results/{world.inspection.id}",
        "/public/draws",
        f"/public/draws/{world.draw.id}",
        "/public/draws/algorithm",
    ):
        html = client.get(url).get_data(as_text=True)
        found = re.search(r'<meta name="description" content="([^"]+)">', html)
        assert found and len(found.group(1)) > 20, url
        descriptions[url] = found.group(1)
    assert world.target.name in descriptions[f"/results/{world.inspection.id}"]
    assert world.task.name in descriptions[f"/public/draws/{world.draw.id}"]
    assert len(set(descriptions.values())) >= 5  # the public pages each say what they are


def test_english_public_pages_use_english_punctuation_around_english_words(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    published()
    client.get("/lang/en")
    html = client.get("/results").get_data(as_text=True)
    assert "market entities only): " in html and "only)：" not in html
    algorithm = client.get("/public/draws/algorithm").get_data(as_text=True)
    assert "<code>weight</code>: " in algorithm and "</code>：" not in algorithm


def test_the_public_entrance_says_what_each_part_is_and_offers_the_data(client: FlaskClient) -> None:
    html = client.get("/public/").get_data(as_text=True)
    for href in (
        "/results",
        "/public/draws",
        "/public/draws/algorithm",
        "/results/export.csv",
        "/results/export.xlsx",
        "/results/feed.json",
    ):
        assert f'href="{href}"' in html, href
    assert "任何人都可以按公开的算法复核" in html
