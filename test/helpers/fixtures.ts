/** Ids from migrations/seed/local.sql. */
export const AV = {
  demo: "av_demo",
  mira: "av_gaussian_mira",
  miraStudio: "av_gaussian_mira_studio",
  miraStreet: "av_gaussian_mira_street",
  miraEvening: "av_gaussian_mira_evening",
  demoProcessing: "av_01KJKB3Q000TTKZ65ECZT8NCY2",
  demoFailed: "av_01KJNXGE00QEZHB32PJBPGNQPA",
  otherPrivate: "av_01KJXMPK00R52WS9AE0Y6BT6W5",
} as const;

/** What org_demo sees, newest first (looks created together are ordered by id, descending). */
export const VISIBLE_TO_DEMO = [AV.demoFailed, AV.demoProcessing, AV.miraStudio, AV.miraStreet, AV.miraEvening, AV.mira, AV.demo];

/** What org_other sees: its own private avatar instead of org_demo's. */
export const VISIBLE_TO_OTHER = [AV.otherPrivate, AV.miraStudio, AV.miraStreet, AV.miraEvening, AV.mira, AV.demo];

export const AVATAR_FIELDS = [
  "id",
  "object",
  "name",
  "is_demo",
  "runtime_type",
  "status",
  "created_at",
  "updated_at",
  "parent_id",
  "looks_count",
  "preview_img_url",
  "video_url",
  "is_favorite",
  "is_public",
  "active",
  "source_format",
  "failure",
];

export interface Avatar {
  id: string;
  object: "avatar";
  name: string;
  is_demo: boolean;
  runtime_type: string;
  status: string;
  created_at: string;
  updated_at: string;
  parent_id: string | null;
  looks_count: number;
  preview_img_url: string | null;
  video_url: string | null;
  is_favorite: boolean;
  is_public: boolean;
  active: boolean;
  source_format: "ply" | "splat" | "glb" | "image" | null;
  failure: { code: string; message: string } | null;
}

export interface List<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}
