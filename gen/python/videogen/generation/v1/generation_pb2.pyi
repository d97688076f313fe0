import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    STATUS_QUEUED: _ClassVar[Status]
    STATUS_STARTING: _ClassVar[Status]
    STATUS_PROCESSING: _ClassVar[Status]
    STATUS_SUCCEEDED: _ClassVar[Status]
    STATUS_FAILED: _ClassVar[Status]
    STATUS_CANCELED: _ClassVar[Status]
    STATUS_TIMED_OUT: _ClassVar[Status]
    STATUS_REJECTED: _ClassVar[Status]
STATUS_UNSPECIFIED: Status
STATUS_QUEUED: Status
STATUS_STARTING: Status
STATUS_PROCESSING: Status
STATUS_SUCCEEDED: Status
STATUS_FAILED: Status
STATUS_CANCELED: Status
STATUS_TIMED_OUT: Status
STATUS_REJECTED: Status

class Generation(_message.Message):
    __slots__ = ("id", "user_id", "model", "resolution", "prompt", "negative_prompt", "duration_s", "seed", "image_url", "status", "progress", "price", "video_url", "error", "logs", "retry_of", "created_at", "completed_at", "refunded", "credits_used", "reserved")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_URL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_USED_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    model: str
    resolution: str
    prompt: str
    negative_prompt: str
    duration_s: int
    seed: int
    image_url: str
    status: Status
    progress: int
    price: int
    video_url: str
    error: str
    logs: str
    retry_of: str
    created_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    refunded: bool
    credits_used: int
    reserved: bool
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., model: _Optional[str] = ..., resolution: _Optional[str] = ..., prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., duration_s: _Optional[int] = ..., seed: _Optional[int] = ..., image_url: _Optional[str] = ..., status: _Optional[_Union[Status, str]] = ..., progress: _Optional[int] = ..., price: _Optional[int] = ..., video_url: _Optional[str] = ..., error: _Optional[str] = ..., logs: _Optional[str] = ..., retry_of: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refunded: _Optional[bool] = ..., credits_used: _Optional[int] = ..., reserved: _Optional[bool] = ...) -> None: ...

class CreateGenerationRequest(_message.Message):
    __slots__ = ("user_id", "idempotency_key", "model", "resolution", "prompt", "negative_prompt", "duration_s", "seed", "image_url", "image_bytes")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    idempotency_key: str
    model: str
    resolution: str
    prompt: str
    negative_prompt: str
    duration_s: int
    seed: int
    image_url: str
    image_bytes: bytes
    def __init__(self, user_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., model: _Optional[str] = ..., resolution: _Optional[str] = ..., prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., duration_s: _Optional[int] = ..., seed: _Optional[int] = ..., image_url: _Optional[str] = ..., image_bytes: _Optional[bytes] = ...) -> None: ...

class CreateGenerationResponse(_message.Message):
    __slots__ = ("generation", "replayed")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    generation: Generation
    replayed: bool
    def __init__(self, generation: _Optional[_Union[Generation, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetGenerationRequest(_message.Message):
    __slots__ = ("user_id", "generation_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    generation_id: str
    def __init__(self, user_id: _Optional[str] = ..., generation_id: _Optional[str] = ...) -> None: ...

class GetGenerationResponse(_message.Message):
    __slots__ = ("generation",)
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    generation: Generation
    def __init__(self, generation: _Optional[_Union[Generation, _Mapping]] = ...) -> None: ...

class ListGenerationsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGenerationsResponse(_message.Message):
    __slots__ = ("generations", "next_page_token")
    GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    generations: _containers.RepeatedCompositeFieldContainer[Generation]
    next_page_token: str
    def __init__(self, generations: _Optional[_Iterable[_Union[Generation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelGenerationRequest(_message.Message):
    __slots__ = ("user_id", "generation_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    generation_id: str
    def __init__(self, user_id: _Optional[str] = ..., generation_id: _Optional[str] = ...) -> None: ...

class CancelGenerationResponse(_message.Message):
    __slots__ = ("generation",)
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    generation: Generation
    def __init__(self, generation: _Optional[_Union[Generation, _Mapping]] = ...) -> None: ...

class RetryGenerationRequest(_message.Message):
    __slots__ = ("user_id", "generation_id", "idempotency_key")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    generation_id: str
    idempotency_key: str
    def __init__(self, user_id: _Optional[str] = ..., generation_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RetryGenerationResponse(_message.Message):
    __slots__ = ("generation", "replayed")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    generation: Generation
    replayed: bool
    def __init__(self, generation: _Optional[_Union[Generation, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class WatchGenerationsRequest(_message.Message):
    __slots__ = ("user_id", "after_event_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    after_event_id: int
    def __init__(self, user_id: _Optional[str] = ..., after_event_id: _Optional[int] = ...) -> None: ...

class WatchGenerationsResponse(_message.Message):
    __slots__ = ("generation", "event_id", "resync")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESYNC_FIELD_NUMBER: _ClassVar[int]
    generation: Generation
    event_id: int
    resync: bool
    def __init__(self, generation: _Optional[_Union[Generation, _Mapping]] = ..., event_id: _Optional[int] = ..., resync: _Optional[bool] = ...) -> None: ...

class ApplyProviderUpdateRequest(_message.Message):
    __slots__ = ("generation_id", "prediction_json")
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_JSON_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    prediction_json: bytes
    def __init__(self, generation_id: _Optional[str] = ..., prediction_json: _Optional[bytes] = ...) -> None: ...

class ApplyProviderUpdateResponse(_message.Message):
    __slots__ = ("applied", "status")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    status: Status
    def __init__(self, applied: _Optional[bool] = ..., status: _Optional[_Union[Status, str]] = ...) -> None: ...

class GetCatalogRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Price(_message.Message):
    __slots__ = ("resolution", "credits")
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    resolution: str
    credits: int
    def __init__(self, resolution: _Optional[str] = ..., credits: _Optional[int] = ...) -> None: ...

class CatalogModel(_message.Message):
    __slots__ = ("model", "task", "prices", "default_resolution")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    model: str
    task: str
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    default_resolution: str
    def __init__(self, model: _Optional[str] = ..., task: _Optional[str] = ..., prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ..., default_resolution: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("prompt_length_min", "prompt_length_max", "negative_prompt_length_max", "duration_s_min", "duration_s_max", "image_bytes_max", "image_types")
    PROMPT_LENGTH_MIN_FIELD_NUMBER: _ClassVar[int]
    PROMPT_LENGTH_MAX_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_LENGTH_MAX_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_MIN_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_MAX_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BYTES_MAX_FIELD_NUMBER: _ClassVar[int]
    IMAGE_TYPES_FIELD_NUMBER: _ClassVar[int]
    prompt_length_min: int
    prompt_length_max: int
    negative_prompt_length_max: int
    duration_s_min: int
    duration_s_max: int
    image_bytes_max: int
    image_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, prompt_length_min: _Optional[int] = ..., prompt_length_max: _Optional[int] = ..., negative_prompt_length_max: _Optional[int] = ..., duration_s_min: _Optional[int] = ..., duration_s_max: _Optional[int] = ..., image_bytes_max: _Optional[int] = ..., image_types: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCatalogResponse(_message.Message):
    __slots__ = ("models", "limits")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[CatalogModel]
    limits: Limits
    def __init__(self, models: _Optional[_Iterable[_Union[CatalogModel, _Mapping]]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...
