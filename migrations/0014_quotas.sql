-- D1 ignores PRAGMA foreign_keys in a migration; nothing references conversations, and deferring covers the copy.
PRAGMA defer_foreign_keys = true;--> statement-breakpoint
CREATE TABLE `__new_conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`avatar_id` text NOT NULL,
	`persona_id` text,
	`model` text NOT NULL,
	`voice_id` text NOT NULL,
	`output_audio_format` text NOT NULL,
	`status` text NOT NULL,
	`transport_url` text NOT NULL,
	`max_duration_s` integer NOT NULL,
	`idle_timeout_s` integer NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`client_permissions` text DEFAULT '[]' NOT NULL,
	`voice_input` text DEFAULT '{}' NOT NULL,
	`tools` text DEFAULT '[]' NOT NULL,
	`output_visemes` integer DEFAULT true NOT NULL,
	`key_id` text,
	`usage` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`end_reason` text,
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "conversations_status_check" CHECK("__new_conversations"."status" IN ('active', 'ended')),
	CONSTRAINT "conversations_output_audio_format_check" CHECK("__new_conversations"."output_audio_format" IN ('pcm_24000', 'pcm_16000')),
	CONSTRAINT "conversations_end_reason_check" CHECK("__new_conversations"."end_reason" IS NULL OR "__new_conversations"."end_reason" IN ('api_ended', 'client_ended', 'agent_ended', 'max_duration', 'idle_timeout', 'quota_exceeded', 'error'))
);
--> statement-breakpoint
INSERT INTO `__new_conversations`("id", "org_id", "avatar_id", "persona_id", "model", "voice_id", "output_audio_format", "status", "transport_url", "max_duration_s", "idle_timeout_s", "metadata", "client_permissions", "voice_input", "tools", "output_visemes", "key_id", "usage", "created_at", "started_at", "ended_at", "end_reason") SELECT "id", "org_id", "avatar_id", "persona_id", "model", "voice_id", "output_audio_format", "status", "transport_url", "max_duration_s", "idle_timeout_s", "metadata", "client_permissions", "voice_input", "tools", "output_visemes", "key_id", "usage", "created_at", "started_at", "ended_at", "end_reason" FROM `conversations`;--> statement-breakpoint
DROP TABLE `conversations`;--> statement-breakpoint
ALTER TABLE `__new_conversations` RENAME TO `conversations`;--> statement-breakpoint
CREATE INDEX `conversations_org_created_idx` ON `conversations` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `conversations_org_status_created_idx` ON `conversations` (`org_id`,`status`,`created_at`,`id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `quotas` text;--> statement-breakpoint
ALTER TABLE `orgs` ADD `quotas` text;