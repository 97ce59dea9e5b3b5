//! Training for the yolo-basin detectors (Light YOLO-Basin, 2022): label assignment
//! (the paper's approximate OTA, Sinkhorn OTA, YOLOv5's), the losses of Formula 1, data
//! loading with augmentation, the optimiser and its schedule, EMA weights, checkpoints
//! that resume exactly, validation, and the training loop.

pub mod assign;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod ema;
pub mod eval;
pub mod iou_loss;
pub mod log;
pub mod loss;
pub mod loss_v5;
pub mod obj_loss;
pub mod schedule;
pub mod trainer;

pub use assign::{AssignConfig, AssignerKind};
pub use config::{DeviceKind, TrainConfig};
pub use ema::EmaConfig;
pub use iou_loss::IouKind;
pub use loss::{LossConfig, LossOutput, detection_loss};
pub use obj_loss::ObjLoss;
pub use schedule::Schedule;
pub use trainer::{TrainError, TrainReport, train, train_until};
