ALTER TABLE `avatars` ADD `source_format` text;--> statement-breakpoint
ALTER TABLE `avatars` ADD `failure_code` text;--> statement-breakpoint
ALTER TABLE `avatars` ADD `failure_message` text;--> statement-breakpoint
ALTER TABLE `avatars` ADD `model_info` text;--> statement-breakpoint
ALTER TABLE `avatars` ADD `preview_asset_key` text;--> statement-breakpoint
ALTER TABLE `avatars` ADD `upload_expires_at` integer;--> statement-breakpoint
ALTER TABLE `avatars` ADD `uploaded_at` integer;--> statement-breakpoint
ALTER TABLE `avatars` ADD `deleted_at` integer;