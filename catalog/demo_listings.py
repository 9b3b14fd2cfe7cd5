"""The demo catalog's listings: three Fujian vendors, IaaS to SaaS, every price model."""

from __future__ import annotations

from catalog.demo_specs import DemoListing, DemoPlan, flat, package, per_unit, seats, tiered

YUNFAN = "福州云帆信息技术有限公司"
HAILU = "厦门海鹭软件有限公司"
ZHIZAO = "泉州智造云服务有限公司"

HOURS = ("小时", "hour")
GB = ("GB", "GB")
CALLS = ("次调用", "call")
MESSAGES = ("条", "message")
DEVICES = ("台设备", "device")
MINUTES = ("分钟", "minute")
ORDERS = ("笔订单", "order")
CONTRACTS = ("份合同", "contract")
EMPLOYEES = ("名员工", "employee")
REQUESTS = ("万次请求", "10k requests")


def _iaas() -> tuple[DemoListing, ...]:
    return (
        DemoListing(
            YUNFAN,
            "cloud-server",
            "iaas",
            ("analytics",),
            "云主机 ECS",
            "Cloud servers",
            "按小时计费的弹性云主机，福州、厦门双可用区部署。",
            "Elastic cloud servers billed by the hour, in Fuzhou and Xiamen zones.",
            "## 产品简介\n\n弹性云主机提供 **2 核 4G 起** 的计算实例，数据中心位于福州和厦门。\n\n"
            "- 分钟级开通，支持按需扩容\n- 每日自动快照\n- 7×24 小时运维值守\n\n"
            "详见 [产品文档](https://docs.yunfan.example/ecs)。",
            (
                DemoPlan(
                    "payg",
                    "按量付费",
                    "Pay as you go",
                    (per_unit("instance_hours", HOURS, 45),),
                    trial_days=7,
                ),
                DemoPlan(
                    "basic",
                    "基础包月",
                    "Monthly basic",
                    (flat(9900), per_unit("instance_hours", HOURS, 30, included=720)),
                ),
            ),
        ),
        DemoListing(
            YUNFAN,
            "object-storage",
            "iaas",
            (),
            "对象存储 OSS",
            "Object storage",
            "海量、安全、低成本的对象存储，按实际存储量阶梯计费。",
            "Durable, low-cost object storage with graduated pricing by stored volume.",
            "## 对象存储\n\n适合存放图片、视频、备份和日志。\n\n"
            "| 能力 | 说明 |\n|---|---|\n| 可靠性 | 99.9999999% |\n"
            "| 访问 | HTTP / S3 兼容接口 |\n\n"
            "存储量越大单价越低：前 100 GB 每 GB ¥0.12，超出部分更便宜。",
            (
                DemoPlan(
                    "standard",
                    "标准存储",
                    "Standard",
                    (
                        tiered(
                            "storage_gb",
                            GB,
                            "graduated",
                            [(100, 12, 0), (1000, 10, 0), (None, 8, 0)],
                            aggregation="max",
                            included=5,
                        ),
                        package("requests", REQUESTS, 1, 100),
                    ),
                ),
            ),
        ),
        DemoListing(
            YUNFAN,
            "cloud-database",
            "iaas",
            ("analytics",),
            "云数据库 PostgreSQL",
            "Cloud PostgreSQL",
            "全托管 PostgreSQL 数据库，自动备份、主备切换。",
            "Fully managed PostgreSQL with automatic backups and failover.",
            "## 云数据库\n\n全托管的 PostgreSQL 16，自动备份保留 7 天，故障时 30 秒内主备切换。\n\n"
            "> 年付享受约八五折优惠。",
            (
                DemoPlan(
                    "monthly", "高可用版（月付）", "High availability, monthly", (flat(39900),)
                ),
                DemoPlan(
                    "yearly",
                    "高可用版（年付）",
                    "High availability, yearly",
                    (flat(399000),),
                    interval="year",
                ),
            ),
        ),
    )


def _paas() -> tuple[DemoListing, ...]:
    return (
        DemoListing(
            YUNFAN,
            "api-gateway",
            "paas",
            ("security",),
            "API 网关",
            "API gateway",
            "统一管理对外开放的接口，按每千次调用计费。",
            "Publish and protect your APIs; billed per thousand calls.",
            "## API 网关\n\n提供鉴权、限流、监控与日志。每月前 10,000 次调用免费，"
            "之后**每 1,000 次 ¥1.50，不足 1,000 次按 1,000 次计**。",
            (
                DemoPlan(
                    "standard",
                    "标准版",
                    "Standard",
                    (package("api_calls", CALLS, 1000, 150, included=10000),),
                ),
            ),
        ),
        DemoListing(
            ZHIZAO,
            "iot-hub",
            "paas",
            ("manufacturing",),
            "工业物联网平台",
            "Industrial IoT hub",
            "设备接入、数据采集与告警，按在线设备数量计费。",
            "Connect machines, collect data and raise alarms; billed by devices online.",
            "## 工业物联网平台\n\n支持 Modbus、OPC UA、MQTT 协议，帮助工厂把设备数据接入云端。\n\n"
            "设备越多单价越低：当月最高在线设备数落在哪一档，**全部设备**按该档单价计费。",
            (
                DemoPlan(
                    "devices",
                    "按设备计费",
                    "Per device",
                    (
                        flat(20000),
                        tiered(
                            "devices",
                            DEVICES,
                            "volume",
                            [(50, 800, 0), (200, 600, 0), (None, 400, 0)],
                            aggregation="max",
                        ),
                    ),
                    trial_days=30,
                ),
            ),
        ),
        DemoListing(
            HAILU,
            "sms-service",
            "paas",
            ("crm",),
            "短信服务",
            "SMS service",
            "验证码、通知和营销短信，三网合一，秒级送达。",
            "Verification, notice and marketing texts to every Chinese carrier within seconds.",
            "## 短信服务\n\n签名与模板审核通常在 2 小时内完成。发送量越大，超出部分单价越低。",
            (
                DemoPlan(
                    "standard",
                    "标准版",
                    "Standard",
                    (
                        tiered(
                            "sms",
                            MESSAGES,
                            "graduated",
                            [(10000, 5, 0), (100000, 4, 0), (None, 3, 0)],
                        ),
                    ),
                ),
            ),
        ),
    )


def _hailu_saas() -> tuple[DemoListing, ...]:
    return (
        DemoListing(
            HAILU,
            "finance-cloud",
            "saas",
            ("finance",),
            "海鹭财务云",
            "Hailu Finance Cloud",
            "面向中小企业的云财务软件：凭证、报表、税务申报一站完成。",
            "Cloud accounting for SMEs: vouchers, reports and tax filing in one place.",
            "## 海鹭财务云\n\n- 自动生成资产负债表、利润表\n- 对接电子税务局，一键申报增值税\n"
            "- 支持多账套\n\n按用户数计费，3 至 50 个用户。",
            (
                DemoPlan("standard", "标准版", "Standard", (seats(3000, 3, 50),), trial_days=15),
                DemoPlan(
                    "yearly",
                    "标准版（年付）",
                    "Standard, yearly",
                    (seats(30000, 3, 50),),
                    interval="year",
                    trial_days=15,
                ),
            ),
        ),
        DemoListing(
            HAILU,
            "inventory",
            "saas",
            ("ecommerce",),
            "进销存管家",
            "Inventory Keeper",
            "采购、销售、库存一本账，手机扫码出入库。",
            "Purchasing, sales and stock in one ledger, with phone barcode scanning.",
            "## 进销存管家\n\n适合商贸、批发和门店。支持多仓库、批次和保质期管理。",
            (
                DemoPlan("basic", "基础版", "Basic", (flat(4900), seats(1000, 1, 10))),
                DemoPlan("pro", "专业版", "Professional", (flat(19900), seats(800, 5, None))),
            ),
        ),
        DemoListing(
            HAILU,
            "crm",
            "saas",
            ("crm",),
            "海鹭 CRM 客户管理",
            "Hailu CRM",
            "客户、商机、合同和回款全流程管理，销售过程一目了然。",
            "Customers, opportunities, contracts and collections, from lead to cash.",
            "## 客户关系管理\n\n- 线索自动分配\n- 销售漏斗分析\n- 微信客户同步",
            (DemoPlan("team", "团队版", "Team", (seats(5000, 2, 100),), trial_days=14),),
        ),
        DemoListing(
            HAILU,
            "hr-cloud",
            "saas",
            ("hr",),
            "人力资源云",
            "HR Cloud",
            "考勤、薪酬、社保和员工档案，按在册员工人数计费。",
            "Attendance, payroll, social insurance and records, billed by employees on file.",
            "## 人力资源云\n\n每月按在册员工（去重计数）计费，员工越多单价越低。",
            (
                DemoPlan(
                    "standard",
                    "标准版",
                    "Standard",
                    (
                        flat(9900),
                        tiered(
                            "employees",
                            EMPLOYEES,
                            "volume",
                            [(50, 500, 0), (300, 400, 0), (None, 300, 0)],
                            aggregation="unique",
                            included=10,
                        ),
                    ),
                ),
            ),
        ),
        DemoListing(
            HAILU,
            "e-contract",
            "saas",
            ("collaboration",),
            "电子合同",
            "E-contracts",
            "具备法律效力的电子签章，合同在线签署、存证。",
            "Legally binding e-signatures: sign and keep contracts online.",
            "## 电子合同\n\n符合《电子签名法》，签署记录可出具存证报告。每月含 20 份合同。",
            (
                DemoPlan(
                    "standard",
                    "标准版",
                    "Standard",
                    (flat(2900), per_unit("contracts", CONTRACTS, 200, included=20)),
                ),
            ),
        ),
    )


def _zhizao_saas() -> tuple[DemoListing, ...]:
    return (
        DemoListing(
            ZHIZAO,
            "mes",
            "saas",
            ("manufacturing",),
            "智造 MES 生产管理",
            "Zhizao MES",
            "生产计划、工单报工、质量追溯，为鞋服、机械工厂打造。",
            "Production planning, work orders and traceability for footwear and machinery plants.",
            "## MES 生产管理\n\n1. 排产计划\n2. 扫码报工\n3. 质量追溯\n\n"
            "可与 [工业物联网平台](/services) 联动采集设备数据。",
            (
                DemoPlan(
                    "yearly",
                    "工厂版（年付）",
                    "Factory, yearly",
                    (flat(1200000), seats(60000, 10, 500)),
                    interval="year",
                ),
                DemoPlan(
                    "monthly",
                    "工厂版（月付）",
                    "Factory, monthly",
                    (flat(120000), seats(6000, 10, 500)),
                ),
            ),
        ),
        DemoListing(
            ZHIZAO,
            "online-shop",
            "saas",
            ("ecommerce",),
            "云网店",
            "Cloud Shop",
            "快速开设微信小程序商城，订单越多手续费越低。",
            "Open a WeChat mini-program shop fast; the more orders, the lower the fee.",
            "## 云网店\n\n支持商品管理、优惠券、分销和直播带货。每月前 100 笔订单免手续费。",
            (
                DemoPlan(
                    "standard",
                    "标准版",
                    "Standard",
                    (
                        flat(6900),
                        tiered(
                            "orders",
                            ORDERS,
                            "graduated",
                            [(1000, 50, 0), (None, 30, 0)],
                            included=100,
                        ),
                    ),
                ),
            ),
        ),
        DemoListing(
            ZHIZAO,
            "video-meeting",
            "saas",
            ("collaboration",),
            "云视频会议",
            "Video meetings",
            "高清视频会议，手机、电脑随时入会。",
            "HD video meetings from phone or computer.",
            "## 云视频会议\n\n每个席位每月含 1,000 分钟会议时长，超出按分钟计费。",
            (
                DemoPlan(
                    "business",
                    "商务版",
                    "Business",
                    (seats(2500, 1, 200), per_unit("minutes", MINUTES, 2, included=1000)),
                ),
            ),
        ),
        DemoListing(
            YUNFAN,
            "web-firewall",
            "saas",
            ("security",),
            "网站安全防护 WAF",
            "Web application firewall",
            "防 SQL 注入、跨站脚本和 CC 攻击，等保合规必备。",
            "Stops SQL injection, cross-site scripting and floods; helps with MLPS compliance.",
            "## 网站安全防护\n\n七层防护规则每日更新，提供攻击日志与月度安全报告。",
            (
                DemoPlan("basic", "基础版", "Basic", (flat(29900),), trial_days=7),
                DemoPlan(
                    "yearly",
                    "企业版（年付）",
                    "Enterprise, yearly",
                    (flat(2990000),),
                    interval="year",
                ),
            ),
        ),
    )


def demo_listings() -> tuple[DemoListing, ...]:
    """Return fresh specs of every demo listing (new component rows on each call)."""
    return _iaas() + _paas() + _hailu_saas() + _zhizao_saas()
