"""/api/v1/classify: a complaint text to its likeliest categories; corrections and retraining."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import ERROR_RESPONSES, Strict
from chengyun.domain.access import CREATORS, DISPATCHERS, READERS, SUPERVISORS, require_role

router = APIRouter(prefix="/api/v1", tags=["受理辅助"], responses=ERROR_RESPONSES)

# The service refuses texts over 2,000 characters with its own message; this only bounds the body.
MAX_BODY_TEXT = 20_000


class ClassifyIn(Strict):
    text: str = Field(max_length=MAX_BODY_TEXT, description="诉求内容（不超过 2000 字）")
    street: str | None = Field(None, max_length=40, description="街道编码；令牌只有一个街道时可省略")


class CandidateOut(BaseModel):
    code: str
    name: str
    confidence: float = Field(description="置信度 0–1，三个候选之和不超过 1")


class ClassifyOut(BaseModel):
    candidates: list[CandidateOut]


class ExampleIn(Strict):
    text: str = Field(max_length=MAX_BODY_TEXT, description="诉求内容")
    code: str = Field(min_length=1, max_length=64, description="正确的类别编码")
    street: str | None = Field(None, max_length=40)


class RetrainIn(Strict):
    street: str | None = Field(None, max_length=40)


class TrainReportOut(BaseModel):
    street: str
    examples: int = Field(description="训练样本数（内置语料、类别目录词、本街道的纠正）")
    corrections: int = Field(description="其中本街道保存的纠正数")
    categories: int
    held_out: int = Field(description="用于评估的内置留出样本数")
    top1: float | None = Field(description="留出样本的首选准确率")
    top3: float | None = Field(description="留出样本的前三命中率")
    seconds: float


@router.post("/classify", response_model=ClassifyOut, summary="诉求智能分类")
def classify(body: ClassifyIn, center: CenterDep, actor: ActorDep) -> ClassifyOut:
    """The three likeliest categories of the street's catalogue for a complaint text, best first."""
    require_role(actor, READERS | CREATORS, "使用智能分类")
    candidates = center.classifier.classify(street_of(actor, body.street), body.text, 3)
    return ClassifyOut(candidates=[CandidateOut(**asdict(c)) for c in candidates])


@router.post("/classifier/examples", status_code=201, summary="纠正分类（保存为训练样本）")
def add_example(body: ExampleIn, center: CenterDep, actor: ActorDep) -> dict[str, str]:
    """A dispatcher's correction: this text belongs to that category. It counts from the next retraining."""
    require_role(actor, DISPATCHERS, "纠正分类")
    street = street_of(actor, body.street)
    center.classifier.learn(street, body.text, body.code, actor.who.id)
    return {"status": "saved", "message": "已保存，重新训练后生效"}


@router.post("/classifier/retrain", response_model=TrainReportOut, summary="重新训练分类模型")
def retrain(center: CenterDep, actor: ActorDep, body: RetrainIn | None = None) -> TrainReportOut:
    require_role(actor, SUPERVISORS, "重新训练分类模型")
    report = center.classifier.retrain(street_of(actor, body.street if body else None))
    return TrainReportOut(**asdict(report))
