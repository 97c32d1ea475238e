"""The test street's community programs as CSV files, loaded through the importers: one market on the first
Thursday of the month (next: Thu 3 December 2026, eight days after T0), a doctor's slot stall and a barber's
queue stall, a volunteer shift, a job fair with two posts, a renovation project of ten households in B1, and
the four-level party grid down to a group for B1."""

from __future__ import annotations

from chengyun.bootstrap import Center
from chengyun.services.community.imports import ImportKind
from street import ADMIN, STREET

MARKET_DAY = "2026-12-03"

FILES: list[tuple[ImportKind, str]] = [
    (
        ImportKind.ORGS,
        """code,name,sector
hosp,静安区中心医院,健康护理
barber,巧手理发志愿服务队,社会组织
care,静安颐养护理院,健康护理
studio,愚园文创工作室,文化创意
""",
    ),
    (ImportKind.SERIES, "code,name,zone\ndoctor,名医坐堂,健康养生\nhaircut,理发磨刀,便民惠民\n"),
    (ImportKind.VENUES, "code,name,level,address\nV1,静安寺街道党群服务中心,street_center,常德路370号\n"),
    (
        ImportKind.MARKETS,
        "code,name,venue,rule,first_day,opens,closes,booking_days\n"
        "M1,静·邻一家便民集市,V1,FREQ=MONTHLY;BYDAY=+1TH,2026-01-01,09:00,11:30,31\n",
    ),
    (
        ImportKind.STALLS,
        """code,market,series,org,name,mode,capacity,slot_minutes,topics
S1,M1,doctor,hosp,名医坐堂,slot,2,30,高血压|用药安全
S2,M1,haircut,barber,理发磨刀,queue,3,,
""",
    ),
    (ImportKind.VOLUNTEER_PROJECTS, "code,name,org,market\nP1,义务理发,barber,M1\n"),
    (
        ImportKind.VOLUNTEER_SHIFTS,
        "code,project,starts_at,ends_at,capacity,place\n"
        "SH1,P1,2026-12-03T08:30:00+08:00,2026-12-03T11:45:00+08:00,2,党群服务中心\n",
    ),
    (
        ImportKind.JOB_FAIRS,
        "code,name,venue,starts_at,ends_at,market\n"
        "F1,家门口招聘会,V1,2026-12-03T09:00:00+08:00,2026-12-03T11:30:00+08:00,M1\n",
    ),
    (
        ImportKind.JOB_POSTS,
        """code,fair,employer,title,openings,special
J1,F1,care,护理员,1,women
J2,F1,studio,平面设计,1,graduates
""",
    ),
    (ImportKind.RENOVATION_PROJECTS, "code,name,area,buildings,threshold\nR1,608弄成套改造,A1,B1,0.9\n"),
    (
        ImportKind.RENOVATION_MILESTONES,
        "project,milestone,planned,done\nR1,survey,,2026-03-01\nR1,design,,2026-06-01\nR1,signing,2026-12-31,\n",
    ),
    (
        ImportKind.RENOVATION_HOUSEHOLDS,
        "project,code,building,room,head,phone,status,consulted_on,signed_on\n"
        + "".join(f"R1,{n},B1,{n}室,户主{n},1380000{n:04d},signed,,2026-10-0{n}\n" for n in range(1, 8))
        + "R1,8,B1,8室,户主8,13800000008,declined,2026-10-08,\n"
        + "R1,9,B1,9室,户主9,13800000009,consulted,2026-10-09,\n"
        + "R1,10,B1,10室,户主10,13800000010,pending,,\n",
    ),
    (
        ImportKind.PARTY_UNITS,
        """code,name,level,parent,places
C,测试街道党工委,committee,,T
BR1,嘉园居民区党总支,branch,C,A1
BR2,华山居民区党总支,branch,C,A2
O1,嘉园第一网格党支部,organisation,BR1,A1-G1
G1,608弄6号楼栋党小组,group,O1,B1
""",
    ),
    (
        ImportKind.PARTY_MEMBERS,
        """code,unit,name,post,leads,duties,phone
m1,C,陈书记,书记,true,统筹街道党建,13911110001
m2,BR1,周书记,党总支书记,true,主持嘉园党总支工作,13911110002
m3,O1,吴支书,支部书记,true,联系网格楼组,13911110003
m4,G1,郑组长,党小组组长,true,联系608弄6号7户居民,13911110004
m5,BR2,冯书记,党总支书记,true,主持华山党总支工作,13911110005
""",
    ),
]


def load_community(center: Center) -> None:
    for kind, text in FILES:
        center.community.files.import_csv(ADMIN, STREET, kind, text)
