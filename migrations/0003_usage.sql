CREATE TABLE `usage` (
	`org_id` text NOT NULL,
	`day` text NOT NULL,
	`metric` text NOT NULL,
	`quantity` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`org_id`, `day`, `metric`),
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "usage_metric_check" CHECK("usage"."metric" IN ('tts_characters', 'conversation_seconds'))
);
