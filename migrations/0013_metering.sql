-- D1 ignores PRAGMA foreign_keys in a migration; nothing references usage, and deferring covers the copy.
PRAGMA defer_foreign_keys = true;--> statement-breakpoint
CREATE TABLE `__new_usage` (
	`org_id` text NOT NULL,
	`day` text NOT NULL,
	`metric` text NOT NULL,
	`key_id` text DEFAULT '' NOT NULL,
	`quantity` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`org_id`, `day`, `metric`, `key_id`),
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "usage_metric_check" CHECK("__new_usage"."metric" IN ('conversation_seconds', 'tts_characters', 'llm_input_tokens', 'llm_output_tokens', 'llm_tokens_estimated', 'stt_seconds', 'requests'))
);
--> statement-breakpoint
INSERT INTO `__new_usage`("org_id", "day", "metric", "key_id", "quantity") SELECT "org_id", "day", "metric", '', "quantity" FROM `usage`;--> statement-breakpoint
DROP TABLE `usage`;--> statement-breakpoint
ALTER TABLE `__new_usage` RENAME TO `usage`;--> statement-breakpoint
ALTER TABLE `conversations` ADD `key_id` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `usage` text DEFAULT '{}' NOT NULL;