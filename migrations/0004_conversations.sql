CREATE TABLE `conversations` (
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
	`created_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`end_reason` text,
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "conversations_status_check" CHECK("conversations"."status" IN ('active', 'ended')),
	CONSTRAINT "conversations_output_audio_format_check" CHECK("conversations"."output_audio_format" IN ('pcm_24000', 'pcm_16000')),
	CONSTRAINT "conversations_end_reason_check" CHECK("conversations"."end_reason" IS NULL OR "conversations"."end_reason" IN ('api_ended', 'client_ended', 'max_duration', 'idle_timeout', 'error'))
);
--> statement-breakpoint
CREATE INDEX `conversations_org_created_idx` ON `conversations` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `conversations_org_status_created_idx` ON `conversations` (`org_id`,`status`,`created_at`,`id`);