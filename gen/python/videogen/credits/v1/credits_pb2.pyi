import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_UNSPECIFIED: _ClassVar[EntryKind]
    ENTRY_KIND_SIGNUP_GRANT: _ClassVar[EntryKind]
    ENTRY_KIND_USAGE: _ClassVar[EntryKind]
    ENTRY_KIND_REFUND: _ClassVar[EntryKind]
    ENTRY_KIND_PURCHASE: _ClassVar[EntryKind]
    ENTRY_KIND_GRANT: _ClassVar[EntryKind]
    ENTRY_KIND_ADMIN_ADJUSTMENT: _ClassVar[EntryKind]
    ENTRY_KIND_SUBSCRIPTION: _ClassVar[EntryKind]
    ENTRY_KIND_PROMO: _ClassVar[EntryKind]
    ENTRY_KIND_EXPIRY: _ClassVar[EntryKind]
    ENTRY_KIND_REVERSAL: _ClassVar[EntryKind]
    ENTRY_KIND_DEBT_PAYMENT: _ClassVar[EntryKind]

class GrantSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANT_SOURCE_UNSPECIFIED: _ClassVar[GrantSource]
    GRANT_SOURCE_SIGNUP: _ClassVar[GrantSource]
    GRANT_SOURCE_PURCHASE: _ClassVar[GrantSource]
    GRANT_SOURCE_SUBSCRIPTION: _ClassVar[GrantSource]
    GRANT_SOURCE_PROMO: _ClassVar[GrantSource]
    GRANT_SOURCE_ADMIN: _ClassVar[GrantSource]
    GRANT_SOURCE_MIGRATED: _ClassVar[GrantSource]

class HoldStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STATUS_UNSPECIFIED: _ClassVar[HoldStatus]
    HOLD_STATUS_OPEN: _ClassVar[HoldStatus]
    HOLD_STATUS_CAPTURED: _ClassVar[HoldStatus]
    HOLD_STATUS_RELEASED: _ClassVar[HoldStatus]
ENTRY_KIND_UNSPECIFIED: EntryKind
ENTRY_KIND_SIGNUP_GRANT: EntryKind
ENTRY_KIND_USAGE: EntryKind
ENTRY_KIND_REFUND: EntryKind
ENTRY_KIND_PURCHASE: EntryKind
ENTRY_KIND_GRANT: EntryKind
ENTRY_KIND_ADMIN_ADJUSTMENT: EntryKind
ENTRY_KIND_SUBSCRIPTION: EntryKind
ENTRY_KIND_PROMO: EntryKind
ENTRY_KIND_EXPIRY: EntryKind
ENTRY_KIND_REVERSAL: EntryKind
ENTRY_KIND_DEBT_PAYMENT: EntryKind
GRANT_SOURCE_UNSPECIFIED: GrantSource
GRANT_SOURCE_SIGNUP: GrantSource
GRANT_SOURCE_PURCHASE: GrantSource
GRANT_SOURCE_SUBSCRIPTION: GrantSource
GRANT_SOURCE_PROMO: GrantSource
GRANT_SOURCE_ADMIN: GrantSource
GRANT_SOURCE_MIGRATED: GrantSource
HOLD_STATUS_UNSPECIFIED: HoldStatus
HOLD_STATUS_OPEN: HoldStatus
HOLD_STATUS_CAPTURED: HoldStatus
HOLD_STATUS_RELEASED: HoldStatus

class Account(_message.Message):
    __slots__ = ("user_id", "balance", "plan", "low_balance", "unlimited", "created_at", "available", "reserved", "total", "debt", "plan_period_end", "next_expiry")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LOW_BALANCE_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    PLAN_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    NEXT_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    balance: int
    plan: str
    low_balance: bool
    unlimited: bool
    created_at: _timestamp_pb2.Timestamp
    available: int
    reserved: int
    total: int
    debt: int
    plan_period_end: _timestamp_pb2.Timestamp
    next_expiry: ExpiryNotice
    def __init__(self, user_id: _Optional[str] = ..., balance: _Optional[int] = ..., plan: _Optional[str] = ..., low_balance: _Optional[bool] = ..., unlimited: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., available: _Optional[int] = ..., reserved: _Optional[int] = ..., total: _Optional[int] = ..., debt: _Optional[int] = ..., plan_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_expiry: _Optional[_Union[ExpiryNotice, _Mapping]] = ...) -> None: ...

class ExpiryNotice(_message.Message):
    __slots__ = ("amount", "at")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    amount: int
    at: _timestamp_pb2.Timestamp
    def __init__(self, amount: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("id", "source", "amount", "remaining", "expired", "priority", "expires_at", "reference", "created_at", "reversed")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVERSED_FIELD_NUMBER: _ClassVar[int]
    id: int
    source: GrantSource
    amount: int
    remaining: int
    expired: int
    priority: int
    expires_at: _timestamp_pb2.Timestamp
    reference: str
    created_at: _timestamp_pb2.Timestamp
    reversed: bool
    def __init__(self, id: _Optional[int] = ..., source: _Optional[_Union[GrantSource, str]] = ..., amount: _Optional[int] = ..., remaining: _Optional[int] = ..., expired: _Optional[int] = ..., priority: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reversed: _Optional[bool] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("id", "user_id", "reference", "amount", "status", "captured", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    user_id: str
    reference: str
    amount: int
    status: HoldStatus
    captured: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., user_id: _Optional[str] = ..., reference: _Optional[str] = ..., amount: _Optional[int] = ..., status: _Optional[_Union[HoldStatus, str]] = ..., captured: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ("id", "user_id", "kind", "amount", "balance_after", "reference", "description", "actor", "created_at", "debt_delta")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEBT_DELTA_FIELD_NUMBER: _ClassVar[int]
    id: int
    user_id: str
    kind: EntryKind
    amount: int
    balance_after: int
    reference: str
    description: str
    actor: str
    created_at: _timestamp_pb2.Timestamp
    debt_delta: int
    def __init__(self, id: _Optional[int] = ..., user_id: _Optional[str] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., amount: _Optional[int] = ..., balance_after: _Optional[int] = ..., reference: _Optional[str] = ..., description: _Optional[str] = ..., actor: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., debt_delta: _Optional[int] = ...) -> None: ...

class EnsureAccountRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class EnsureAccountResponse(_message.Message):
    __slots__ = ("account", "created")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    account: Account
    created: bool
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class DeductRequest(_message.Message):
    __slots__ = ("user_id", "amount", "reference", "idempotency_key", "description")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: int
    reference: str
    idempotency_key: str
    description: str
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[int] = ..., reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class DeductResponse(_message.Message):
    __slots__ = ("entry", "balance", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    balance: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class AddRequest(_message.Message):
    __slots__ = ("user_id", "amount", "kind", "idempotency_key", "description", "actor", "reference")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: int
    kind: EntryKind
    idempotency_key: str
    description: str
    actor: str
    reference: str
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[int] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., idempotency_key: _Optional[str] = ..., description: _Optional[str] = ..., actor: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class AddResponse(_message.Message):
    __slots__ = ("entry", "balance", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    balance: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class RefundRequest(_message.Message):
    __slots__ = ("reference", "idempotency_key", "reason")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reference: str
    idempotency_key: str
    reason: str
    def __init__(self, reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundResponse(_message.Message):
    __slots__ = ("entry", "balance", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    balance: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token", "kinds", "reference")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    kinds: _containers.RepeatedScalarFieldContainer[EntryKind]
    reference: str
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[EntryKind, str]]] = ..., reference: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchBalanceRequest(_message.Message):
    __slots__ = ("user_id", "after_entry_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    after_entry_id: int
    def __init__(self, user_id: _Optional[str] = ..., after_entry_id: _Optional[int] = ...) -> None: ...

class WatchBalanceResponse(_message.Message):
    __slots__ = ("user_id", "balance", "low_balance", "entry_id", "kind", "amount", "reserved", "debt")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    LOW_BALANCE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    balance: int
    low_balance: bool
    entry_id: int
    kind: EntryKind
    amount: int
    reserved: int
    debt: int
    def __init__(self, user_id: _Optional[str] = ..., balance: _Optional[int] = ..., low_balance: _Optional[bool] = ..., entry_id: _Optional[int] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., amount: _Optional[int] = ..., reserved: _Optional[int] = ..., debt: _Optional[int] = ...) -> None: ...

class SetPlanRequest(_message.Message):
    __slots__ = ("user_id", "plan", "period_end")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    plan: str
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., plan: _Optional[str] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetPlanResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class Drift(_message.Message):
    __slots__ = ("user_id", "balance", "entries_sum", "broken_entry_id", "description")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_SUM_FIELD_NUMBER: _ClassVar[int]
    BROKEN_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    balance: int
    entries_sum: int
    broken_entry_id: int
    description: str
    def __init__(self, user_id: _Optional[str] = ..., balance: _Optional[int] = ..., entries_sum: _Optional[int] = ..., broken_entry_id: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("accounts_checked", "drifts")
    ACCOUNTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    accounts_checked: int
    drifts: _containers.RepeatedCompositeFieldContainer[Drift]
    def __init__(self, accounts_checked: _Optional[int] = ..., drifts: _Optional[_Iterable[_Union[Drift, _Mapping]]] = ...) -> None: ...

class GrantCreditsRequest(_message.Message):
    __slots__ = ("user_id", "amount", "source", "expires_at", "priority", "reference", "idempotency_key", "description", "actor")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: int
    source: GrantSource
    expires_at: _timestamp_pb2.Timestamp
    priority: int
    reference: str
    idempotency_key: str
    description: str
    actor: str
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[int] = ..., source: _Optional[_Union[GrantSource, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., priority: _Optional[int] = ..., reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., description: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class GrantCreditsResponse(_message.Message):
    __slots__ = ("entry", "balance", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    balance: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListGrantsRequest(_message.Message):
    __slots__ = ("user_id", "include_spent")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SPENT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    include_spent: bool
    def __init__(self, user_id: _Optional[str] = ..., include_spent: _Optional[bool] = ...) -> None: ...

class ListGrantsResponse(_message.Message):
    __slots__ = ("grants", "open_holds")
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    OPEN_HOLDS_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    open_holds: _containers.RepeatedCompositeFieldContainer[Hold]
    def __init__(self, grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ..., open_holds: _Optional[_Iterable[_Union[Hold, _Mapping]]] = ...) -> None: ...

class ReserveRequest(_message.Message):
    __slots__ = ("user_id", "amount", "reference", "idempotency_key", "timeout_s")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: int
    reference: str
    idempotency_key: str
    timeout_s: int
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[int] = ..., reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., timeout_s: _Optional[int] = ...) -> None: ...

class ReserveResponse(_message.Message):
    __slots__ = ("hold", "replayed")
    HOLD_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    replayed: bool
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class CaptureRequest(_message.Message):
    __slots__ = ("reference", "amount", "idempotency_key", "description")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    reference: str
    amount: int
    idempotency_key: str
    description: str
    def __init__(self, reference: _Optional[str] = ..., amount: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CaptureResponse(_message.Message):
    __slots__ = ("entry", "hold", "balance", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    hold: Hold
    balance: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., hold: _Optional[_Union[Hold, _Mapping]] = ..., balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("reference", "idempotency_key", "reason")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reference: str
    idempotency_key: str
    reason: str
    def __init__(self, reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseResponse(_message.Message):
    __slots__ = ("hold", "replayed")
    HOLD_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    replayed: bool
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class RecordPurchaseRequest(_message.Message):
    __slots__ = ("user_id", "package", "paid_amount", "currency", "payment_reference", "idempotency_key", "provider")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    PAID_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    package: str
    paid_amount: int
    currency: str
    payment_reference: str
    idempotency_key: str
    provider: str
    def __init__(self, user_id: _Optional[str] = ..., package: _Optional[str] = ..., paid_amount: _Optional[int] = ..., currency: _Optional[str] = ..., payment_reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class RecordPurchaseResponse(_message.Message):
    __slots__ = ("entry", "balance", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    balance: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ReversePaymentRequest(_message.Message):
    __slots__ = ("payment_reference", "idempotency_key", "reason", "provider")
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    payment_reference: str
    idempotency_key: str
    reason: str
    provider: str
    def __init__(self, payment_reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reason: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class ReversePaymentResponse(_message.Message):
    __slots__ = ("entry", "balance", "debt", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    balance: int
    debt: int
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., balance: _Optional[int] = ..., debt: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ApplySubscriptionInvoiceRequest(_message.Message):
    __slots__ = ("user_id", "plan", "invoice_reference", "period_end", "idempotency_key", "provider")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    INVOICE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    plan: str
    invoice_reference: str
    period_end: _timestamp_pb2.Timestamp
    idempotency_key: str
    provider: str
    def __init__(self, user_id: _Optional[str] = ..., plan: _Optional[str] = ..., invoice_reference: _Optional[str] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class ApplySubscriptionInvoiceResponse(_message.Message):
    __slots__ = ("entry", "account", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    account: Account
    replayed: bool
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., account: _Optional[_Union[Account, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListPackagesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Package(_message.Message):
    __slots__ = ("id", "credits", "price", "currency")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    id: str
    credits: int
    price: int
    currency: str
    def __init__(self, id: _Optional[str] = ..., credits: _Optional[int] = ..., price: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("code", "allotment", "rollover_cap", "unlimited")
    CODE_FIELD_NUMBER: _ClassVar[int]
    ALLOTMENT_FIELD_NUMBER: _ClassVar[int]
    ROLLOVER_CAP_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    code: str
    allotment: int
    rollover_cap: int
    unlimited: bool
    def __init__(self, code: _Optional[str] = ..., allotment: _Optional[int] = ..., rollover_cap: _Optional[int] = ..., unlimited: _Optional[bool] = ...) -> None: ...

class ListPackagesResponse(_message.Message):
    __slots__ = ("packages", "plans")
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    PLANS_FIELD_NUMBER: _ClassVar[int]
    packages: _containers.RepeatedCompositeFieldContainer[Package]
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    def __init__(self, packages: _Optional[_Iterable[_Union[Package, _Mapping]]] = ..., plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ...) -> None: ...
