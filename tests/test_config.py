"""config.yaml → Config: the example loads, defaults follow CHECKS.md, and every error
names the file, the 1-based line and the dotted key."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from govmon import __version__
from govmon.config import (
    CHECK_IDS,
    DEFAULT_BAD_LINK_TERMS,
    Account,
    CheckSettings,
    Config,
    ConfigError,
    CrawlSettings,
    Site,
    TargetNotFound,
    derive_target_id,
    format_duration,
    load_config,
    parse_duration,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.yaml"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


SITE = """
sites:
  - id: lianjiang
    name: 廉江市政府门户网站
    organizer: 廉江市政府
    category: county_portal
    url: http://www.lianjiang.gov.cn/
"""


# --- the example registry --------------------------------------------------------------


def test_example_config_loads():
    config = load_config(EXAMPLE)
    assert config.path == EXAMPLE
    assert config.base_dir == ROOT
    assert config.timezone == "Asia/Shanghai"
    assert config.database == "sqlite:///govmon.db"
    assert [s.category for s in config.sites] == [
        "county_portal",
        "county_portal",
        "county_portal",
        "department_site",
        "department_channel",
    ]
    lianjiang = config.find_target("lianjiang")
    assert isinstance(lianjiang, Site)
    assert lianjiang.name == "廉江市政府门户网站"
    assert lianjiang.organizer == "廉江市政府"
    assert lianjiang.url == "http://www.lianjiang.gov.cn/"
    assert [(c.name, c.kind) for c in lianjiang.columns] == [
        ("政务动态", "news"),
        ("通知公告", "notice"),
        ("政策文件", "policy"),
        ("人事信息", "personnel"),
        ("规划计划", "planning"),
        ("领导信箱", "interaction"),
    ]
    assert lianjiang.columns[0].url == "http://www.lianjiang.gov.cn/zwdt/"
    assert [(a.id, a.platform) for a in config.accounts] == [
        ("meili-xiashan", "douyin"),
        ("zhanjiang-jindu", "wechat"),
        ("zhanjiang-fabu", "weibo"),
    ]
    assert config.find_target("魅力霞山").organizer == "霞山区政府"
    assert config.crawl.allow_private_addresses is False
    assert config.cluster.enabled is False


def test_example_config_spells_out_the_defaults():
    """The example writes every section with its default values: they must not drift."""
    example = load_config(EXAMPLE)
    defaults = Config.from_mapping({})
    for section in ("crawl", "cluster", "schedule", "checks", "lexicon", "browser", "report"):
        assert getattr(example, section) == getattr(defaults, section), section


def test_example_config_documents_every_key():
    text = EXAMPLE.read_text(encoding="utf-8")
    for check_id in CHECK_IDS:
        assert f"  {check_id}:" in text, check_id
    for key in CrawlSettings.model_fields:
        assert f"{key}:" in text, key
    for key in ("id", "name", "organizer", "category", "url", "columns", "kind", "enabled", "platform"):
        assert f"{key}:" in text or f"  {key} " in text, key
    for key in ("enabled", "severity", "points", "max_points", "fail_below", "executable", "network_profile"):
        assert f"{key}:" in text, key


# --- defaults (CHECKS.md and INTERFACE.md numbers) --------------------------------------


def test_top_level_defaults():
    config = Config.from_mapping({})
    assert config.timezone == "Asia/Shanghai"
    assert str(config.tzinfo) == "Asia/Shanghai"
    assert config.database is None
    assert config.database_url == "sqlite:///govmon.db"
    assert config.sites == ()
    assert config.accounts == ()
    assert config.path is None
    assert config.source == "<memory>"
    assert config.cluster.enabled is False
    assert config.schedule.sites == dt.timedelta(hours=24)
    assert config.schedule.accounts == dt.timedelta(hours=6)
    assert config.schedule.probes == dt.timedelta(hours=1)


def test_crawl_defaults():
    crawl = Config.from_mapping({}).crawl
    assert crawl.allow_private_addresses is False
    assert crawl.concurrency_per_domain == 4
    assert crawl.download_delay_s == 0.25
    assert crawl.timeout_s == 15
    assert crawl.retries == 2
    assert crawl.contact is None
    assert crawl.user_agent == f"govmon/{__version__}"
    assert crawl.max_pages_per_site == 2000
    assert crawl.max_depth == 4
    assert crawl.articles_per_column == 5
    assert crawl.list_pages_per_column == 3
    assert crawl.max_page_bytes == 5_000_000
    assert crawl.max_redirects == 5
    assert crawl.retry_after_max_s == 120
    assert crawl.obey_robots is True


def test_user_agent_carries_the_contact_unless_set():
    with_contact = Config.from_mapping({"crawl": {"contact": "mailto:zwgk@zhanjiang.gov.cn"}})
    assert with_contact.crawl.user_agent == f"govmon/{__version__} (+mailto:zwgk@zhanjiang.gov.cn)"
    explicit = Config.from_mapping({"crawl": {"contact": "x@y.cn", "user_agent": "Mozilla/5.0 govmon"}})
    assert explicit.crawl.user_agent == "Mozilla/5.0 govmon"


def test_check_defaults_follow_checks_md():
    config = Config.from_mapping({})
    checks = config.checks
    assert checks.fail_below == 60

    unreachable = config.check_settings("site.unreachable")
    assert (unreachable.timeout_s, unreachable.min_probes_per_day, unreachable.window_days) == (15, 20, 7)
    assert (unreachable.veto_failure_ratio, unreachable.warn_failure_ratio) == (0.05, 0.03)
    assert config.check_settings("site.homepage_stale").days == 14

    stale = config.check_settings("column.stale")
    assert stale.days.model_dump() == {
        "news": 14,
        "notice": 180,
        "policy": 180,
        "personnel": 365,
        "planning": 365,
        "interaction": None,
        "other": None,
    }
    assert stale.days.for_kind("news") == 14
    assert stale.days.for_kind(None) is None
    assert (stale.veto_core_stale, stale.veto_any_stale) == (5, 10)
    assert config.check_settings("column.empty").veto_count == 5

    assert config.check_settings("content.title_mismatch").min_similarity == 0.5
    links = config.check_settings("links.broken")
    assert (links.timeout_s, links.retries, links.home_points, links.points) == (15, 2, 1, 0.1)
    assert config.check_settings("site.identifiers").required == (
        "主办单位",
        "联系方式",
        "网站标识码",
        "ICP备案号",
        "公安机关备案号",
        "党政机关网站标识",
    )
    slow = config.check_settings("page.slow")
    assert (slow.load_ms, slow.network_profile) == (3000, None)
    assert config.browser.network_profile == "none"
    assert config.check_settings("site.mobile").viewport_px == 375
    assert config.check_settings("site.elderly").min_contrast == 4.5
    account = config.check_settings("account.stale")
    assert (account.veto_days, account.flag_days) == (14, 7)
    unanswered = config.check_settings("interaction.unanswered")
    assert (
        unanswered.veto_unanswered_days,
        unanswered.deduct_no_reply_days,
        unanswered.points,
        unanswered.lookback_days,
    ) == (90, 60, 3, 365)
    assert config.check_settings("site.https").expiry_warn_days == 30


def test_every_check_id_has_settings_enabled_without_override():
    config = Config.from_mapping({})
    for check_id in CHECK_IDS:
        settings = config.check_settings(check_id)
        assert isinstance(settings, CheckSettings)
        assert settings.enabled is True
        assert settings.severity is None
        assert settings.max_points is None
    assert len(CHECK_IDS) == 25


def test_check_settings_unknown_id():
    with pytest.raises(KeyError, match="site.homepage_stale"):
        Config.from_mapping({}).check_settings("site.homepage_stal")


def test_check_overrides_keep_sibling_defaults(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
            checks:
              account.stale:
                flag_days: 10
              column.stale:
                days:
                  news: 7
                  other: 365
              content.undated:
                enabled: false
                severity: deduct
                points: 0.5
            """,
        )
    )
    assert config.check_settings("account.stale").flag_days == 10
    assert config.check_settings("account.stale").veto_days == 14
    days = config.check_settings("column.stale").days
    assert (days.news, days.notice, days.other) == (7, 180, 365)
    undated = config.check_settings("content.undated")
    assert (undated.enabled, undated.severity, undated.points) == (False, "deduct", 0.5)


def test_lexicon_defaults():
    lexicon = Config.from_mapping({}).lexicon
    assert lexicon.serious_errors == ()
    assert lexicon.files == ()
    assert lexicon.serious_error_terms == ()
    assert lexicon.bad_links == DEFAULT_BAD_LINK_TERMS
    for term in ("博彩", "赌场", "百家乐", "时时彩", "六合彩", "澳门赌场", "真人视讯", "老虎机", "色情", "成人视频"):
        assert term in lexicon.bad_links


def test_browser_defaults():
    browser = Config.from_mapping({}).browser
    assert (browser.enabled, browser.executable, browser.network_profile) == (True, None, "none")


# --- pass rates as the notice prints them ----------------------------------------------


@pytest.mark.parametrize(
    ("group", "passed", "total", "shown"),
    [
        ("websites", 10, 11, "91%"),  # county portals
        ("websites", 5, 6, "83%"),  # department sites
        ("websites", 31, 31, "100%"),  # department channels
        ("websites", 46, 48, "96%"),  # all websites
        ("new_media", 240, 241, "99.5%"),  # 99.59 floored
        ("new_media", 241, 241, "100.0%"),
        ("websites", 0, 0, "—"),
    ],
)
def test_pass_rate_format(group, passed, total, shown):
    report = Config.from_mapping({}).report
    assert getattr(report, group).format(passed, total) == shown


def test_pass_rate_partial_override_keeps_group_rounding():
    report = Config.from_mapping({"report": {"new_media": {"digits": 2}}}).report
    assert report.new_media.rounding == "floor"
    assert report.new_media.format(240, 241) == "99.58%"


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", dt.timedelta(hours=24)),
        ("6h", dt.timedelta(hours=6)),
        ("1h", dt.timedelta(hours=1)),
        ("30m", dt.timedelta(minutes=30)),
        ("90s", dt.timedelta(seconds=90)),
        ("7d", dt.timedelta(days=7)),
        ("1h30m", dt.timedelta(minutes=90)),
        (" 2H ", dt.timedelta(hours=2)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["0h", "0m0s", "abc", "", "3600", 3600, "-1h", "1.5h", "h", True, None])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_duration():
    assert format_duration(dt.timedelta(days=1)) == "1d"
    assert format_duration(dt.timedelta(minutes=90)) == "1h30m"


def test_schedule_durations_load(tmp_path):
    config = load_config(write(tmp_path, "schedule:\n  sites: 12h\n  accounts: 90m\n  probes: 30m\n"))
    assert config.schedule.sites == dt.timedelta(hours=12)
    assert config.schedule.accounts == dt.timedelta(minutes=90)
    assert config.schedule.probes == dt.timedelta(minutes=30)


def test_schedule_zero_duration_rejected(tmp_path):
    err = error_of(tmp_path, "timezone: Asia/Shanghai\nschedule:\n  sites: 24h\n  accounts: 0h\n")
    assert (err.line, err.key) == (4, "schedule.accounts")
    assert err.message == '时长必须大于 0: "0h"'


def test_schedule_bad_duration_rejected(tmp_path):
    err = error_of(tmp_path, "schedule:\n  probes: abc\n")
    assert (err.line, err.key) == (2, "schedule.probes")
    assert err.message.startswith("不是有效的时长")
    assert err.message.endswith(': "abc"')


# --- error messages: file, line, key -----------------------------------------------------


def test_bad_url_names_file_line_and_key(tmp_path):
    path = write(
        tmp_path,
        SITE
        + """\
  - name: 雷州市人民政府网站
    category: county_portal
    url: www.x.gov.cn
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.path, err.line, err.key) == (str(path), 9, "sites[1].url")
    assert str(err) == f'{path}:9: sites[1].url: 不是有效的网址（需要 http:// 或 https:// 开头）: "www.x.gov.cn"'
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://www.x.gov.cn/", '不是有效的网址（需要 http:// 或 https:// 开头）: "ftp://www.x.gov.cn/"'),
        ("/zwdt/", '不是有效的网址（需要 http:// 或 https:// 开头）: "/zwdt/"'),
        ("http://", '网址缺少主机名（应为 http://主机名/路径）: "http://"'),
        ("http://www.x.gov.cn/a b", '网址中不能有空格或换行: "http://www.x.gov.cn/a b"'),
        ("http://www.x.gov.cn:99999/", '不是有效的网址（需要 http:// 或 https:// 开头）: "http://www.x.gov.cn:99999/"'),
    ],
)
def test_bad_urls(tmp_path, url, message):
    err = error_of(tmp_path, SITE.replace("http://www.lianjiang.gov.cn/", f'"{url}"'))
    assert (err.line, err.key, err.message) == (6, "sites[0].url", message)


def test_account_url_checked_too(tmp_path):
    err = error_of(tmp_path, "accounts:\n  - name: 魅力霞山\n    platform: douyin\n    url: douyin.com/user/1\n")
    assert (err.line, err.key) == (4, "accounts[0].url")


def test_unknown_top_level_key_suggests(tmp_path):
    err = error_of(tmp_path, "timezone: Asia/Shanghai\nsitse: []\n")
    assert (err.line, err.key) == (2, "sitse")
    assert err.message == '未知的键 "sitse"；是否想写 "sites"？'


def test_unknown_nested_key_suggests(tmp_path):
    err = error_of(tmp_path, SITE + "    colums:\n      - name: 政务动态\n")
    assert (err.line, err.key) == (7, "sites[0].colums")
    assert err.message == '未知的键 "colums"；是否想写 "columns"？'


def test_unknown_key_lists_allowed_keys(tmp_path):
    err = error_of(tmp_path, "cluster:\n  enabled: true\n  redis: localhost\n")
    assert (err.line, err.key) == (3, "cluster.redis")
    assert err.message == ('未知的键 "redis"；此处可用的键：enabled、database、concurrency、stalled_timeout、'
                           'retry_wait、max_attempts')


def test_cluster_needs_postgresql():
    from govmon.config import Config

    for mapping, words in (
        ({"cluster": {"enabled": True}}, "需要在 database 中配置 PostgreSQL"),
        ({"database": "sqlite:///x.db", "cluster": {"enabled": True}}, "database 是 sqlite"),
        ({"database": "postgresql+psycopg://u@h/d", "cluster": {"enabled": True, "database": "sqlite:///q.db"}},
         "cluster.database 是 sqlite"),
    ):
        with pytest.raises(ConfigError) as err:
            Config.from_mapping(mapping)
        assert words in str(err.value)
    cluster = Config.from_mapping({"database": "postgresql+psycopg://u@h/d", "cluster": {"enabled": True}}).cluster
    assert (cluster.concurrency, cluster.stalled_timeout.total_seconds()) == (4, 30)
    assert Config.from_mapping({"database": "sqlite:///x.db"}).cluster.enabled is False  # the single machine


def test_unknown_key_in_column(tmp_path):
    text = SITE + "    columns:\n      - name: 政务动态\n        url: http://www.lianjiang.gov.cn/zwdt/\n        type: news\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (10, "sites[0].columns[0].type")
    assert err.message.startswith('未知的键 "type"')


def test_unknown_check_id_suggests(tmp_path):
    err = error_of(tmp_path, "checks:\n  fail_below: 60\n  site.homepage_stal:\n    days: 10\n")
    assert (err.line, err.key) == (3, "checks.site.homepage_stal")
    assert err.message == '未知的键 "site.homepage_stal"；是否想写 "site.homepage_stale"？'


def test_unknown_threshold_suggests(tmp_path):
    err = error_of(tmp_path, "checks:\n  account.stale:\n    veto_day: 10\n")
    assert (err.line, err.key) == (3, "checks.account.stale.veto_day")
    assert err.message == '未知的键 "veto_day"；是否想写 "veto_days"？'


def test_notifications_section(tmp_path):
    (tmp_path / "smtp.pw").write_text("s3cret\n", encoding="utf-8")
    config = load_config(write(tmp_path, (
        "notifications:\n  min_severity: deduct\n  webhooks:\n"
        "    - format: dingtalk\n      url: https://oapi.dingtalk.com/robot/send?access_token=x\n      secret: SECabc\n"
        "    - format: wecom\n      url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=y\n"
        "  smtp:\n    host: smtp.example.gov.cn\n    port: 587\n    starttls: true\n    username: govmon\n"
        "    password_file: smtp.pw\n    from: govmon@example.gov.cn\n    to: [office@example.gov.cn]\n")))
    settings = config.notifications
    assert settings.min_severity == "deduct" and [w.format for w in settings.webhooks] == ["dingtalk", "wecom"]
    assert settings.smtp is not None and settings.smtp.password_file == tmp_path / "smtp.pw"
    assert settings.smtp.sender == "govmon@example.gov.cn" and settings.smtp.to == ("office@example.gov.cn",)


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("notifications:\n  email: a@b.cn\n", 2, "notifications.email", "未知的键 \"email\"；此处可用的键："),
        ("notifications:\n  webhooks:\n    - format: slack\n      url: http://x.cn/\n", 3,
         "notifications.webhooks[0].format", "slack"),
        ("notifications:\n  webhooks:\n    - format: wecom\n      url: http://x.cn/\n      secret: s\n", 3,
         "notifications.webhooks[0]", "secret（加签密钥）只用于钉钉机器人"),
        ("notifications:\n  smtp:\n    host: h\n    from: a@b.cn\n    to: [c@d.cn]\n    username: u\n", 2,
         "notifications.smtp", "username 和 password_file 须同时填写"),
        ("notifications:\n  smtp:\n    host: h\n    from: a@b.cn\n    to: [c@d.cn]\n    username: u\n"
         "    password_file: missing.pw\n", 7, "notifications.smtp.password_file", "找不到密码文件"),
        ("notifications:\n  smtp:\n    host: h\n    from: nobody\n    to: [c@d.cn]\n", 4,
         "notifications.smtp.from", "不是有效的电子邮件地址"),
        ("schedule:\n  nightly: '25:00'\n", 2, "schedule.nightly", "应为每天的时刻（如 02:30）"),
    ],
)
def test_notification_errors(tmp_path, text, line, key, message):
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (line, key)
    assert message in err.message


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("crawl:\n  retries: 2.5\n", 2, "crawl.retries", "应为整数: 2.5"),
        ("crawl:\n  retries: true\n", 2, "crawl.retries", "应为整数: true"),
        ("crawl:\n  timeout_s: fast\n", 2, "crawl.timeout_s", '应为数字: "fast"'),
        ("crawl:\n  obey_robots: maybe\n", 2, "crawl.obey_robots", '应为 true 或 false: "maybe"'),
        ("crawl:\n  concurrency_per_domain: 0\n", 2, "crawl.concurrency_per_domain", "不能小于 1: 0"),
        ("crawl: 5\n", 1, "crawl", "应为“键: 值”形式的映射（在下一行缩进书写）: 5"),
        ("sites:\n  name: x\n", 1, "sites", '应为列表（每项一行，以“- ”开头）: {"name": "x"}'),
        ("sites:\n  - http://www.x.gov.cn/\n", 2, "sites[0]", '应为“键: 值”形式的映射（在下一行缩进书写）: "http://www.x.gov.cn/"'),
    ],
)
def test_wrong_types(tmp_path, text, line, key, message):
    err = error_of(tmp_path, text)
    assert (err.line, err.key, err.message) == (line, key, message)


def test_bad_category_lists_allowed_values(tmp_path):
    err = error_of(tmp_path, SITE.replace("category: county_portal", "category: County_Portal"))
    assert (err.line, err.key) == (5, "sites[0].category")
    assert err.message == (
        '不是允许的值: "County_Portal"；可选值：county_portal（县区门户）、department_site（市直部门独立站点）、'
        'department_channel（市直部门子频道）；是否想写 "county_portal"？'
    )


def test_bad_column_kind(tmp_path):
    text = SITE + "    columns:\n      - name: 政务动态\n        url: http://www.lianjiang.gov.cn/zwdt/\n        kind: dynamic\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (10, "sites[0].columns[0].kind")
    assert err.message.startswith('不是允许的值: "dynamic"；可选值：news（要闻动态）、notice（通知公告）')


def test_bad_platform(tmp_path):
    err = error_of(tmp_path, "accounts:\n  - name: 魅力霞山\n    platform: tiktok\n    url: https://www.douyin.com/user/1\n")
    assert (err.line, err.key) == (3, "accounts[0].platform")
    assert err.message == (
        '不是允许的值: "tiktok"；可选值：wechat（微信公众号）、weibo（微博）、douyin（抖音）、toutiao（今日头条）、'
        "kuaishou（快手）、bilibili（哔哩哔哩）、rss（RSS/Atom 订阅源）"
    )


def test_bad_severity_override(tmp_path):
    err = error_of(tmp_path, "checks:\n  content.undated:\n    severity: fatal\n")
    assert (err.line, err.key) == (3, "checks.content.undated.severity")
    assert err.message == '不是允许的值: "fatal"；可选值：veto（单项否决）、deduct（扣分）、notice（提示）'


def test_missing_required_field(tmp_path):
    err = error_of(tmp_path, "sites:\n  - organizer: 廉江市政府\n    category: county_portal\n    url: http://a.gov.cn/\n")
    assert (err.line, err.key, err.message) == (2, "sites[0].name", '缺少必填项 "name"')
    assert len(err.issues) == 1  # no second complaint about the id derived from the name


def test_blank_required_value(tmp_path):
    err = error_of(tmp_path, SITE.replace("url: http://www.lianjiang.gov.cn/", "url:"))
    assert (err.line, err.key, err.message) == (6, "sites[0].url", "未填写（不能为空）")


def test_column_without_url(tmp_path):
    text = SITE + "    columns:\n      - name: 政务动态\n        kind: news\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key, err.message) == (8, "sites[0].columns[0].url", '缺少必填项 "url"')


def test_column_on_another_host_is_allowed(tmp_path):
    text = SITE + "    columns:\n      - name: 信息公开\n        url: https://xxgk.zhanjiang.gov.cn/lianjiang/\n"
    site = load_config(write(tmp_path, text)).sites[0]
    assert site.host == "www.lianjiang.gov.cn"
    assert site.columns[0].url == "https://xxgk.zhanjiang.gov.cn/lianjiang/"
    assert site.columns[0].kind is None


def test_duplicate_column_url(tmp_path):
    text = SITE + (
        "    columns:\n"
        "      - name: 政务动态\n        url: http://www.lianjiang.gov.cn/zwdt/\n"
        "      - name: 部门动态\n        url: http://www.lianjiang.gov.cn/zwdt/\n"
    )
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (11, "sites[0].columns[1].url")
    assert err.message == '栏目网址重复："http://www.lianjiang.gov.cn/zwdt/" 已用于 sites[0].columns[0]（第 8 行）'


def test_duplicate_id_across_sites_and_accounts(tmp_path):
    text = SITE + "accounts:\n  - id: lianjiang\n    name: 廉江发布\n    platform: wechat\n    url: https://mp.weixin.qq.com/x\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (8, "accounts[0].id")
    assert err.message == 'id 重复："lianjiang" 已用于 sites[0]（第 2 行）'


def test_duplicate_name_across_sites_and_accounts(tmp_path):
    text = SITE + "accounts:\n  - name: 廉江市政府门户网站\n    platform: wechat\n    url: https://mp.weixin.qq.com/x\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (8, "accounts[0].name")
    assert err.message == '名称重复："廉江市政府门户网站" 已用于 sites[0]（第 2 行）；--target 按名称查找时无法区分'
    assert len(err.issues) == 1


def test_duplicate_name_ignores_spaces_and_width(tmp_path):
    text = (
        "accounts:\n"
        "  - {id: a1, name: 湛江发布, platform: weibo, url: 'https://weibo.com/1'}\n"
        "  - {id: a2, name: 湛江 发布 , platform: wechat, url: 'https://mp.weixin.qq.com/2'}\n"
    )
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (3, "accounts[1].name")


def test_id_equal_to_another_targets_name(tmp_path):
    text = SITE + "accounts:\n  - id: 廉江市政府门户网站\n    name: 廉江发布\n    platform: wechat\n    url: https://mp.weixin.qq.com/x\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (8, "accounts[0].id")
    assert err.message == 'id "廉江市政府门户网站" 与 sites[0]（第 2 行）的名称相同；--target 无法区分'


def test_name_equal_to_another_targets_derived_id(tmp_path):
    text = (
        "sites:\n"
        "  - {name: Zhanjiang Portal, category: county_portal, url: 'http://a.gov.cn/'}\n"
        "  - {name: zhanjiang-portal, category: county_portal, url: 'http://b.gov.cn/'}\n"
    )
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (3, "sites[1].name")
    assert err.message == '名称 "zhanjiang-portal" 与 sites[0]（第 2 行）的 id 相同；--target 无法区分'


def test_duplicate_derived_id(tmp_path):
    text = (
        "sites:\n"
        "  - {name: Zhanjiang Portal, category: county_portal, url: 'http://a.gov.cn/'}\n"
        "  - {name: Zhanjiang Portal!, category: county_portal, url: 'http://b.gov.cn/'}\n"
    )
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (3, "sites[1].name")
    assert err.message == (
        '由名称生成的 id "zhanjiang-portal" 与 sites[0]（第 2 行）的 id 相同，请为它填写一个不同的 id'
    )


def test_bad_id(tmp_path):
    err = error_of(tmp_path, SITE.replace("id: lianjiang", "id: lian jiang"))
    assert (err.line, err.key) == (2, "sites[0].id")
    assert err.message == 'id 不能含空格或 / \\ ? # % 等字符: "lian jiang"'


def test_invalid_time_zone(tmp_path):
    err = error_of(tmp_path, "database: sqlite:///x.db\ntimezone: Asia/Shanghi\n")
    assert (err.line, err.key) == (2, "timezone")
    assert err.message == '不是已知的时区: "Asia/Shanghi"；是否想写 "Asia/Shanghai"？'


def test_invalid_database_url(tmp_path):
    err = error_of(tmp_path, "database: postgres://u@h/db\n")
    assert (err.line, err.key) == (1, "database")
    assert err.message.startswith("数据库地址应以 postgresql://")
    assert load_config(write(tmp_path, "database: postgresql+psycopg://u@h/db\n")).database_url == (
        "postgresql+psycopg://u@h/db"
    )


@pytest.mark.parametrize("delay", ["0", "0.0", "-1"])
def test_download_delay_zero_rejected(tmp_path, delay):
    err = error_of(tmp_path, f"crawl:\n  concurrency_per_domain: 2\n  download_delay_s: {delay}\n")
    assert (err.line, err.key) == (3, "crawl.download_delay_s")
    assert err.message.startswith("必须大于 0（例如 0.25）：Scrapy 2.14 及以后版本在下载间隔为 0 时不再遵守 concurrency_per_domain")


def test_small_download_delay_accepted(tmp_path):
    assert load_config(write(tmp_path, "crawl:\n  download_delay_s: 0.01\n")).crawl.download_delay_s == 0.01


def test_contact_must_fit_an_http_header(tmp_path):
    err = error_of(tmp_path, "crawl:\n  contact: 张三 0759-1234567\n")
    assert (err.line, err.key) == (2, "crawl.contact")
    assert len(err.issues) == 1


def test_threshold_order_checked(tmp_path):
    err = error_of(tmp_path, "checks:\n  account.stale:\n    veto_days: 5\n    flag_days: 7\n")
    assert (err.line, err.key, err.message) == (2, "checks.account.stale", "flag_days（7）不能大于 veto_days（5）")
    err = error_of(tmp_path, "checks:\n  site.unreachable:\n    warn_failure_ratio: 0.1\n")
    assert (err.line, err.key) == (2, "checks.site.unreachable")


def test_several_errors_first_by_line(tmp_path):
    text = "crawl:\n  retries: x\nsites:\n  - name: a\n    category: portal\n    url: b\n"
    err = error_of(tmp_path, text)
    assert (err.line, err.key) == (2, "crawl.retries")
    assert [(i.line, i.key) for i in err.issues] == [
        (2, "crawl.retries"),
        (5, "sites[0].category"),
        (6, "sites[0].url"),
    ]
    assert str(err).endswith("（另有 2 处错误）")


# --- YAML and file problems ---------------------------------------------------------------


def test_yaml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "timezone: Asia/Shanghai\nsites:\n  - name: x\n    url: [a\n  b: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.path, err.line, err.key) == (str(path), 5, None)
    assert str(err).startswith(f"{path}:5: YAML 语法错误：方括号列表 [...] 没有正确结束")


def test_yaml_tab_indentation(tmp_path):
    err = error_of(tmp_path, "crawl:\n\tretries: 1\n")
    assert err.line == 2
    assert err.message.startswith("YAML 语法错误：不能用 Tab 键缩进，请改用空格")


def test_yaml_duplicate_key(tmp_path):
    err = error_of(tmp_path, "crawl:\n  retries: 1\n  retries: 2\n")
    assert err.line == 3
    assert err.message == 'YAML 语法错误：键 "retries" 重复出现（所在映射从第 2 行开始）'


def test_yaml_mapping_value_error(tmp_path):
    err = error_of(tmp_path, "timezone: Asia/Shanghai\nsites: name: x\n")
    assert err.line == 2
    assert err.message.startswith("YAML 语法错误：此处不能出现“键: 值”")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.path, err.line, err.key) == (str(path), None, None)
    assert err.message.startswith("找不到配置文件")
    assert str(err).startswith(f"{path}: 找不到配置文件")


def test_directory_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="这是一个目录"):
        load_config(tmp_path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes("timezone: Asia/Shanghai\nsites:\n  - name: 廉江\n".encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 3
    assert "UTF-8" in info.value.message


def test_top_level_must_be_a_mapping(tmp_path):
    err = error_of(tmp_path, "- name: x\n")
    assert (err.line, err.key) == (1, None)


def test_empty_file_means_defaults(tmp_path):
    config = load_config(write(tmp_path, "# 还没有登记任何网站\n"))
    assert config.model_dump() == Config.from_mapping({}).model_dump()


def test_blank_sections_mean_defaults(tmp_path):
    config = load_config(write(tmp_path, "sites:\naccounts:\ncrawl:\nchecks:\n  column.stale:\n"))
    assert config.sites == ()
    assert config.crawl == CrawlSettings()
    assert config.check_settings("column.stale").days.news == 14


def test_utf8_bom_accepted(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes("\ufefftimezone: Asia/Shanghai\n".encode())
    assert load_config(path).timezone == "Asia/Shanghai"


# --- lexicon files --------------------------------------------------------------------------


def test_lexicon_files_relative_to_config(tmp_path):
    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "serious.txt").write_text(
        "# 严重表述错误\n中华人民共合国\n\n  某某某同志  \n中华人民共合国\n", encoding="utf-8"
    )
    path = write(tmp_path, "lexicon:\n  serious_errors: [错误表述甲]\n  files: [lexicon/serious.txt]\n")
    config = load_config(path)
    assert config.lexicon.files == (tmp_path / "lexicon" / "serious.txt",)
    assert config.lexicon.serious_error_terms == ("错误表述甲", "中华人民共合国", "某某某同志")


def test_lexicon_missing_file(tmp_path):
    (tmp_path / "a.txt").write_text("词\n", encoding="utf-8")
    err = error_of(tmp_path, "lexicon:\n  files:\n    - a.txt\n    - missing.txt\n")
    assert (err.line, err.key) == (4, "lexicon.files[1]")
    assert err.message == f'找不到词库文件 "missing.txt"（相对路径从配置文件所在目录 {tmp_path} 算起）'


def test_browser_executable_must_exist(tmp_path):
    err = error_of(tmp_path, "browser:\n  executable: /no/such/chromium\n")
    assert (err.line, err.key) == (2, "browser.executable")


# --- targets ------------------------------------------------------------------------------


def test_find_target_by_id_and_by_name(tmp_path):
    config = load_config(EXAMPLE)
    assert config.find_target("lianjiang") is config.sites[0]
    assert config.find_target("廉江市政府门户网站") is config.sites[0]
    assert config.find_target(" 廉江市政府门户网站 ") is config.sites[0]
    account = config.find_target("湛江禁毒")
    assert isinstance(account, Account)
    assert account.kind == "account"
    assert config.find_target("zhanjiang-jindu") is account
    assert config.find_target("ZHANJIANG-JINDU") is account


def test_find_target_not_found_lists_near_matches():
    config = load_config(EXAMPLE)
    with pytest.raises(KeyError) as info:
        config.find_target("廉江")
    err = info.value
    assert isinstance(err, TargetNotFound)
    assert err.suggestions == ("廉江市政府门户网站（lianjiang）",)
    assert str(err) == '配置中没有 id 或名称为 "廉江" 的网站或账号；相近的有：廉江市政府门户网站（lianjiang）'
    with pytest.raises(TargetNotFound) as info:
        config.find_target("完全无关")
    assert info.value.suggestions == ()


def test_derived_ids():
    assert derive_target_id("廉江市政府门户网站") == "廉江市政府门户网站"
    assert derive_target_id(" 湛江 发布 ") == "湛江发布"
    assert derive_target_id("湛江市（教育局）") == "湛江市(教育局)"  # NFKC: full-width brackets
    assert derive_target_id("Zhanjiang Government Portal") == "zhanjiang-government-portal"
    config = Config.from_mapping(
        {"sites": [{"name": "湛江 发布", "category": "county_portal", "url": "http://a.gov.cn/"}]}
    )
    assert config.sites[0].id == "湛江发布"
    assert config.find_target("湛江发布") is config.sites[0]


# --- immutability and from_mapping --------------------------------------------------------


def test_config_is_immutable():
    config = load_config(EXAMPLE)
    with pytest.raises(ValidationError):
        config.timezone = "UTC"
    with pytest.raises(ValidationError):
        config.sites[0].url = "http://evil.example/"
    with pytest.raises(ValidationError):
        config.crawl.download_delay_s = 0
    with pytest.raises(ValidationError):
        config.check_settings("column.stale").days.news = 1
    assert isinstance(config.sites, tuple)
    assert isinstance(config.sites[0].columns, tuple)
    assert isinstance(config.lexicon.bad_links, tuple)


def test_from_mapping_errors_name_source_and_key():
    with pytest.raises(ConfigError) as info:
        Config.from_mapping({"sites": [{"name": "x", "category": "county_portal", "url": "x"}]}, source="<demo>")
    err = info.value
    assert (err.path, err.line, err.key) == ("<demo>", None, "sites[0].url")
    assert str(err) == '<demo>: sites[0].url: 不是有效的网址（需要 http:// 或 https:// 开头）: "x"'


def test_from_mapping_accepts_python_values(tmp_path):
    (tmp_path / "words.txt").write_text("错词\n", encoding="utf-8")
    config = Config.from_mapping(
        {
            "crawl": {"allow_private_addresses": True},
            "schedule": {"probes": dt.timedelta(minutes=5)},
            "lexicon": {"files": ["words.txt"]},
        },
        source="<demo>",
        base_dir=tmp_path,
    )
    assert config.crawl.allow_private_addresses is True
    assert config.schedule.probes == dt.timedelta(minutes=5)
    assert config.lexicon.serious_error_terms == ("错词",)
    assert config.base_dir == tmp_path
    assert config.source == "<demo>"


def test_path_is_absolute_and_message_uses_the_given_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "timezone: Asia/Shanghai\n")
    config = load_config("config.yaml")
    assert config.path == tmp_path / "config.yaml"
    assert config.base_dir == tmp_path
    assert config.source == "config.yaml"
    write(tmp_path, "timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError) as info:
        load_config("config.yaml")
    assert str(info.value) == 'config.yaml:1: timezone: 不是已知的时区: "Mars/Olympus"（例如 Asia/Shanghai）'


def test_blank_user_agent_means_default():
    crawl = Config.from_mapping({"crawl": {"user_agent": "", "contact": "ops@example.gov.cn"}}).crawl
    assert crawl.user_agent == f"govmon/{__version__} (+ops@example.gov.cn)"


def test_cluster_platform_lock_buckets():
    from govmon.cluster import platform_lock
    from govmon.config import Config

    accounts = [{"id": f"wb{n}", "name": f"示范县微博{n}", "organizer": "示范县人民政府", "platform": "weibo",
                 "url": f"https://weibo.com/u/{n}"} for n in range(40)]
    one = Config.from_mapping({"accounts": accounts})
    assert {platform_lock(a, one) for a in one.accounts} == {"platform:weibo"}  # one read at a time, cluster-wide
    three = Config.from_mapping({"accounts": accounts, "platforms": {"pace_overrides": {"weibo": {"concurrency": 3}}}})
    assert {platform_lock(a, three) for a in three.accounts} == {f"platform:weibo:{k}" for k in range(3)}
